//! Command-line arguments (clap derive only; defaults and cross-flag rules live in `config`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Provision whole fleets of hosting services through the ISPsystem BILLmanager API from a
/// manifest kept in git.
#[derive(Debug, Parser)]
#[command(name = "billfleet", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output (-v debug and the raw cause of errors, -vv trace); `RUST_LOG`
    /// overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr: no progress, notices or summary (data on stdout stays).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands (CONTRACT.md "Commands").
// Parsed once per process: the size of the sandbox's many fault flags costs nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate a manifest; never contacts the billing (unless --online).
    Validate(ValidateArgs),
    /// The dry run: what `apply` would order, with the exact calls and their cost.
    Plan(PlanArgs),
    /// Order every declared server that is not already present; write the CSV report.
    Apply(ApplyArgs),
    /// The fleet as the billing sees it now.
    Status(StatusArgs),
    /// Renew every service of the fleet (`service.prolong`).
    Prolong(ProlongArgs),
    /// Push changed addons / autoprolong of the manifest to existing services.
    Edit(MutateArgs),
    /// Suspend the fleet's services.
    Suspend(MutateArgs),
    /// Resume the fleet's services.
    Resume(MutateArgs),
    /// Delete the fleet's services (only those this manifest identifies as its own).
    Destroy(MutateArgs),
    /// What the billing sells: tariffs, and for one tariff its addons, OS templates, periods.
    Catalog(CatalogArgs),
    /// Write a commented, valid manifest for a tariff.
    Init(InitArgs),
    /// Remove the stale locks of a manifest's account and groups left by a crashed run.
    Unlock(UnlockArgs),
    /// Print a shell completion script on stdout.
    Completions(CompletionsArgs),
    /// Print the manifest's JSON Schema on stdout (for editor completion).
    Schema,
    /// Print the man page (roff) on stdout.
    Manpage,
    /// Run the embedded BILLmanager simulator in the foreground.
    Sandbox(SandboxArgs),
    /// Check, read-only, that billfleet can work with the configured billing.
    Doctor(DoctorArgs),
}

/// Where the billing is and who we are there.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Billing")]
pub struct BillingArgs {
    /// Use an in-process simulator instead of a real billing (state in `.billfleet/sandbox.json`
    /// beside the manifest).
    #[arg(long)]
    pub sandbox: bool,
    /// Read url/user/password from `[profiles.NAME]` of billfleet.toml or
    /// $XDG_CONFIG_HOME/billfleet/config.toml.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Billing base URL (overrides the manifest's `billing.url`).
    #[arg(long, env = "BILLFLEET_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Billing user name.
    #[arg(long, env = "BILLFLEET_USER", value_name = "USER")]
    pub user: Option<String>,
    /// Do not verify the billing's TLS certificate (self-signed test installs only).
    #[arg(long)]
    pub insecure: bool,
}

/// Output format of plan and catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// A readable table.
    #[default]
    Text,
    /// One JSON object on stdout.
    Json,
}

/// Output format of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StatusFormat {
    /// A readable table.
    #[default]
    Text,
    /// One JSON object on stdout.
    Json,
    /// CSV on stdout.
    Csv,
}

/// `validate`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest (YAML).
    pub manifest: PathBuf,
    /// Also check pricelists, addons and OS templates against the billing's catalog.
    #[arg(long)]
    pub online: bool,
    /// Output format: the `ok:` line, or one JSON object (`valid`, counts or `errors`).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `plan`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest (YAML).
    pub manifest: PathBuf,
    /// Do not contact the billing: every server is `order`, cost and balance unknown.
    #[arg(long)]
    pub offline: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Exit 0 when there is nothing to do, 4 when an order, update, delete or conflict is
    /// pending.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to FILE (versioned JSON) for `apply FILE`.
    #[arg(long, value_name = "FILE", conflicts_with = "offline")]
    pub out: Option<PathBuf>,
    /// Plan to delete the undeclared services (count lowered) instead of keeping them.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `--target`: restrict a command to some declared servers.
#[derive(Debug, Clone, Args, Default)]
pub struct TargetArgs {
    /// Only this server key (`web-2`, the unpadded `<group>-<seq>`) or group (`web`);
    /// repeatable. Servers left out get `skipped` rows.
    #[arg(long = "target", value_name = "KEY|GROUP")]
    pub target: Vec<String>,
}

/// Flags shared by every mutating command.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfirmArgs {
    /// Do it without asking (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// CSV report path (default `<manifest stem>.results.csv` beside the manifest).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Calls in flight at most (overrides `execution.concurrency`).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Calls per second at most (overrides `execution.rate`).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Seconds to wait while another run holds the lock of the same billing account and
    /// group (default 0: stop at once, exit 3, naming the holder).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub lock_timeout: u64,
    /// What to print on stdout when done: `text` nothing (the summary goes to stderr), `json`
    /// the final result as one JSON object (rows and totals).
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// `apply`
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The manifest (YAML), or a plan saved with `plan --out` (applied exactly, or refused
    /// when stale).
    pub manifest: PathBuf,
    /// Also delete the undeclared services of the fleet (count lowered).
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    /// After ordering, wait until every service is active with an IP.
    #[arg(long)]
    pub wait: bool,
    /// Seconds to wait for each server with --wait.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub wait_timeout: u64,
    /// Write an Ansible inventory (YAML) of the fleet (needs --wait).
    #[arg(long, value_name = "PATH", requires = "wait")]
    pub inventory: Option<PathBuf>,
    /// Order N servers first, wait for them to become active, then the rest.
    #[arg(long, value_name = "N")]
    pub canary: Option<u32>,
    /// Stop dispatching after K failed servers.
    #[arg(long, value_name = "K")]
    pub max_failures: Option<u32>,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The manifest (YAML).
    pub manifest: PathBuf,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: StatusFormat,
    /// Write an Ansible inventory (YAML) of the fleet's active servers.
    #[arg(long, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `prolong`
#[derive(Debug, Args)]
pub struct ProlongArgs {
    /// The manifest (YAML).
    pub manifest: PathBuf,
    /// Months to renew by.
    #[arg(long, value_name = "MONTHS")]
    pub period: u32,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `edit`, `suspend`, `resume`, `destroy`
#[derive(Debug, Args)]
pub struct MutateArgs {
    /// The manifest (YAML).
    pub manifest: PathBuf,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `catalog`
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Item type (vds, vhost, dedic, soft, ...).
    #[arg(long = "type", value_name = "T", default_value = "vds")]
    pub kind: String,
    /// Show one tariff in detail: addons, enums, OS templates, recipes, periods.
    #[arg(long, value_name = "ID")]
    pub pricelist: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Billing dialect to speak (bm4, bm5, bm6).
    #[arg(long, value_name = "D", default_value = "bm5")]
    pub dialect: String,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Tariff id.
    #[arg(long, value_name = "ID")]
    pub pricelist: String,
    /// How many servers.
    #[arg(long, value_name = "N")]
    pub count: u32,
    /// Domain pattern, e.g. `web-{seq:03}.example.com`.
    #[arg(long, value_name = "PATTERN")]
    pub domain: String,
    /// Item type (vds, vhost, dedic, soft, ...).
    #[arg(long = "type", value_name = "T", default_value = "vds")]
    pub kind: String,
    /// Group name.
    #[arg(long, value_name = "NAME", default_value = "web")]
    pub name: String,
    /// Write the manifest here instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the file given with -o when it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Billing dialect to speak (bm4, bm5, bm6).
    #[arg(long, value_name = "D", default_value = "bm5")]
    pub dialect: String,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `unlock`
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The manifest whose locks (of its billing account and groups) to remove.
    pub manifest: PathBuf,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `doctor`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The manifest (YAML).
    pub manifest: PathBuf,
    /// Write every request and answer as JSON lines (secrets removed, owner-only).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    #[command(flatten)]
    pub billing: BillingArgs,
}

/// `sandbox`
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:1500")]
    pub listen: SocketAddr,
    /// The customer account's user name.
    #[arg(long, default_value = "demo")]
    pub user: String,
    /// The customer account's password.
    #[arg(long, default_value = "demo")]
    pub password: String,
    /// Starting balance of the account.
    #[arg(long, value_name = "AMOUNT", default_value = "10000")]
    pub balance: String,
    /// Keep the simulator's state in this JSON file (loaded at start, saved on every change).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Serve the answers of a capture (`billfleet doctor --capture`) instead of simulating.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Fault injection of the simulator.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Faults")]
pub struct FaultArgs {
    /// Seed of the fault dice (same seed, same faults).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Added latency of every answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency up to this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,
    /// Share of calls answered 5xx before doing anything (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fail_before: f64,
    /// Share of mutating calls that do the work and then drop the connection (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub drop_after: f64,
    /// Answer 429 with Retry-After above this many requests per second.
    #[arg(long, value_name = "RPS")]
    pub throttle_rps: Option<u32>,
    /// Expire sessions after this many requests.
    #[arg(long, value_name = "N")]
    pub session_expiry: Option<u64>,
    /// Milliseconds a new service stays in processing (5) before it is active (2).
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub activation_ms: u64,
    /// The billing's own page size: list pages hold at most N rows, whatever p_cnt asks.
    #[arg(long, value_name = "N")]
    pub page_cap: Option<usize>,
    /// Lists state no total (p_elems).
    #[arg(long)]
    pub no_total: bool,
    /// Lists answer the first page whatever p_num asks.
    #[arg(long)]
    pub ignore_paging: bool,
    /// List rows carry no status and no remoteid (only item_status with $orig).
    #[arg(long)]
    pub lean_rows: bool,
    /// A saved list filter (active services only) hides the rest until it is cleared.
    #[arg(long)]
    pub sticky_filter: bool,
    /// Filter submissions are echoed back without being saved.
    #[arg(long)]
    pub filter_reset_ignored: bool,
    /// Share of mutating calls that do the work and then answer 503 (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub after_work_503: f64,
    /// The literal Retry-After header value sent with 429 and 503 answers.
    #[arg(long, value_name = "VALUE")]
    pub retry_after: Option<String>,
    /// Answer every request 307 with this Location.
    #[arg(long, value_name = "URL")]
    pub redirect_to: Option<String>,
    /// Answer every request 403 with an HTML "IP temporarily blocked" page.
    #[arg(long)]
    pub firewall: bool,
    /// Refuse paid orders with a billing error of this type (e.g. access).
    #[arg(long, value_name = "TYPE")]
    pub refuse_orders: Option<String>,
    /// Echo the request's password, authinfo and session id in error messages.
    #[arg(long)]
    pub echo_secrets: bool,
    /// Share of calls refused with "Request in process, please wait" (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub busy_share: f64,
    /// Refuse logins: captcha, blockgeoip, blocked_ip, blocklogon or totp.
    #[arg(long, value_name = "HOW")]
    pub login_refusal: Option<String>,
    /// Write the balance in whoami's answer as this text (`1 234,56`, `0.005`, `1,234`): the
    /// localized forms billings print.
    #[arg(long, value_name = "TEXT")]
    pub balance_text: Option<String>,
    /// Answer the first N calls of FUNC with 503 before doing anything (`FUNC:N`, e.g.
    /// `vds.filter:1`).
    #[arg(long, value_name = "FUNC:N")]
    pub fail_first: Option<String>,
    /// Answer order forms in the BILLmanager 6 v2 shape (limits under
    /// `metadata.form.page[].field[]`, labels as a `messages.msg` map).
    #[arg(long)]
    pub v2_forms: bool,
    /// Where order forms state the price: pricelist_summary, total_summary, orderinfo, or
    /// missing (no price at all).
    #[arg(long, value_name = "SHAPE", default_value = "pricelist_summary")]
    pub price_shape: String,
    /// Where edit forms (and their price previews) state the service's price:
    /// pricelist_summary, total_summary, orderinfo, or missing (no price at all).
    #[arg(long, value_name = "SHAPE", default_value = "pricelist_summary")]
    pub edit_price_shape: String,
    /// Answer on/off addons as list-type addons (`slist[$name=addon_N]`).
    #[arg(long)]
    pub slist_addons: bool,
    /// On/off addons take the words on/off instead of 1/0.
    #[arg(long)]
    pub off_values: bool,
    /// Refuse service lists with a billing error of this type (e.g. access).
    #[arg(long, value_name = "TYPE")]
    pub refuse_lists: Option<String>,
}
