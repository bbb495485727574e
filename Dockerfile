# A small image of billfleet: a static (musl) binary on distroless.
#   docker build -t billfleet .
#   docker run --rm -v "$PWD:/work" -w /work -e BILLFLEET_URL -e BILLFLEET_USER \
#     -e BILLFLEET_PASSWORD billfleet plan manifests/web.yaml
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && strip target/release/billfleet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/release/billfleet /usr/local/bin/billfleet
# TLS roots: billfleet uses rustls with the platform's roots; distroless ships them.
ENTRYPOINT ["/usr/local/bin/billfleet"]
CMD ["--help"]
