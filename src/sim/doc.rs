//! The answer document (`<doc>`) and its renderings: XML, JSON (`$` text, `$attr` keys, one
//! child an object, several a list), strict JSON (every child a list) and an HTML page.
//! Written independently of the client's decoder on purpose.

use serde_json::{Map, Value};

/// An XML-like element: attributes, optional text, children in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: Option<String>,
    children: Vec<Node>,
    /// In JSON, a plain string instead of `{"$": …}` (the `messages.msg` map of v2 forms).
    bare: bool,
}

impl Node {
    /// An empty element.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// An element holding text.
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        let mut node = Self::new(name);
        node.text = Some(text.into());
        node
    }

    /// An element holding text that JSON renders as a plain string.
    pub fn bare_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        let mut node = Self::text(name, text);
        node.bare = true;
        node
    }

    /// The root `<doc>`.
    pub fn doc() -> Self {
        Self::new("doc")
    }

    /// Adds an attribute.
    pub fn attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push((key.into(), value.into()));
        self
    }

    /// Adds a child.
    pub fn child(mut self, node: Node) -> Self {
        self.children.push(node);
        self
    }

    /// Adds a text child.
    pub fn field(self, name: &str, text: impl Into<String>) -> Self {
        self.child(Node::text(name, text))
    }

    /// Adds a child in place.
    pub fn push(&mut self, node: Node) {
        self.children.push(node);
    }

    /// Renders as `{"doc": …}`; `strict` puts every child element in a list (sjson).
    pub fn to_json(&self, strict: bool) -> String {
        let mut root = Map::new();
        root.insert(self.name.clone(), self.json_value(strict));
        Value::Object(root).to_string()
    }

    fn json_value(&self, strict: bool) -> Value {
        if self.bare && self.attrs.is_empty() && self.children.is_empty() {
            return Value::String(self.text.clone().unwrap_or_default());
        }
        let mut map = Map::new();
        for (k, v) in &self.attrs {
            map.insert(format!("${k}"), Value::String(v.clone()));
        }
        if let Some(text) = &self.text {
            map.insert("$".into(), Value::String(text.clone()));
        }
        let mut names: Vec<&str> = Vec::new();
        for c in &self.children {
            if !names.contains(&c.name.as_str()) {
                names.push(&c.name);
            }
        }
        for name in names {
            let mut values: Vec<Value> = self
                .children
                .iter()
                .filter(|c| c.name == name)
                .map(|c| c.json_value(strict))
                .collect();
            let value = if values.len() == 1 && !strict {
                values.remove(0)
            } else {
                Value::Array(values)
            };
            map.insert(name.to_owned(), value);
        }
        Value::Object(map)
    }

    /// Renders as an XML document.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_xml(&mut out);
        out.push('\n');
        out
    }

    fn write_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        if self.text.is_none() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(text) = &self.text {
            out.push_str(&escape(text));
        }
        for c in &self.children {
            c.write_xml(out);
        }
        out.push_str(&format!("</{}>", self.name));
    }

    /// Renders as the HTML page the web interface would show (no `out=` given).
    pub fn to_html(&self) -> String {
        let mut xml = String::new();
        self.write_xml(&mut xml);
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>BILLmanager</title></head>\
             <body><div id=\"main\"><pre>{}</pre></div></body></html>\n",
            escape(&xml)
        )
    }
}

/// Escapes text for XML and HTML.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Cents as a plain decimal: `1250` → `12.50`.
pub(crate) fn cents(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Cents as the web interface shows a balance: `987550` → `9 875.50`.
pub(crate) fn cents_localized(amount: i64) -> String {
    let plain = cents(amount.abs());
    let (int, frac) = plain.split_once('.').unwrap_or((&plain, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{frac}")
}

/// An error answer: `type`, `object`, the offending value and a message; some types also
/// carry a numeric `code` and named params (`not_enough_money`).
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub kind: String,
    pub object: String,
    pub value: Option<String>,
    pub msg: String,
    /// A numeric `code` and named params (boxed: most errors have none).
    pub detail: Option<Box<Detail>>,
}

/// The `code` attribute and named `param`s some error types carry.
#[derive(Debug, Clone)]
pub(crate) struct Detail {
    pub code: String,
    pub params: Vec<(String, String)>,
}

impl ApiError {
    /// An error of a type and object.
    pub fn new(kind: &str, object: &str, msg: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            object: object.into(),
            value: None,
            msg: msg.into(),
            detail: None,
        }
    }

    /// The insufficient-funds answer as ISPsystem's knowledge base documents it:
    /// `<error type="not_enough_money" code="1">` with the params `amount` (the price),
    /// `have` (the balance), `currency`, `deficit`, `limit` (the credit limit), `reserved`
    /// and `available`, amounts as plain decimals.
    pub fn not_enough_money(amount: i64, have: i64, currency: &str) -> Self {
        let (limit, reserved) = (0, 0);
        let available = have + limit - reserved;
        let mut e = Self::new(
            "not_enough_money",
            "",
            format!(
                "Not enough money on the balance: {} {currency} needed, {} {currency} available",
                cents(amount),
                cents(available)
            ),
        );
        let params = vec![
            ("amount".into(), cents(amount)),
            ("have".into(), cents(have)),
            ("currency".into(), currency.to_owned()),
            ("deficit".into(), cents((amount - available).max(0))),
            ("limit".into(), cents(limit)),
            ("reserved".into(), cents(reserved)),
            ("available".into(), cents(available)),
        ];
        e.detail = Some(Box::new(Detail {
            code: "1".into(),
            params,
        }));
        e
    }

    /// Adds the offending value.
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// `value` error naming a field.
    pub fn invalid(field: &str, value: &str) -> Self {
        Self::new(
            "value",
            field,
            format!("The '{field}' field has invalid value."),
        )
        .value(value)
    }

    /// `missed` error: no such object.
    pub fn missed(object: &str, value: &str) -> Self {
        Self::new(
            "missed",
            object,
            format!("The object '{value}' does not exist"),
        )
        .value(value)
    }

    /// The COREmanager 5 form: `<error type object lang><param…><msg>` (no `object` when the
    /// error names none; `code` and named params when the type has them).
    pub fn to_doc(&self) -> Node {
        let mut error = Node::new("error").attr("type", &self.kind);
        if let Some(d) = &self.detail {
            error = error.attr("code", &d.code);
        }
        if !self.object.is_empty() {
            error = error.attr("object", &self.object);
        }
        error = error.attr("lang", "en");
        if !self.object.is_empty() {
            error.push(
                Node::text("param", &self.object)
                    .attr("name", "object")
                    .attr("type", "msg")
                    .attr("msg", &self.object),
            );
        }
        if let Some(value) = &self.value {
            error.push(Node::text("param", value).attr("name", "value"));
        }
        for (name, value) in self.detail.iter().flat_map(|d| &d.params) {
            error.push(Node::text("param", value).attr("name", name));
        }
        error.push(Node::text("msg", &self.msg));
        Node::doc().child(error)
    }

    /// The BILLmanager 4 form: `<error code obj val/>`.
    pub fn to_legacy_doc(&self) -> Node {
        if self.kind == "not_enough_money" {
            // BILLmanager 4 has no such type; its invalid-value code names the balance.
            let mut error = Node::new("error").attr("code", "4").attr("obj", "balance");
            if let Some((_, amount)) = self.detail.as_ref().and_then(|d| d.params.first()) {
                error = error.attr("val", amount);
            }
            return Node::doc().child(error);
        }
        let code = match self.kind.as_str() {
            "exists" => "2",
            "missed" => "3",
            "value" => "4",
            "access" | "auth" => "6",
            "runningoperation" => "8",
            _ => "1",
        };
        let mut error = Node::new("error")
            .attr("code", code)
            .attr("obj", &self.object);
        if let Some(value) = &self.value {
            error = error.attr("val", value);
        }
        Node::doc().child(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_single_child_is_an_object_and_several_a_list() {
        let doc = Node::doc()
            .child(Node::new("elem").field("id", "1"))
            .field("p_elems", "1");
        let v: Value = serde_json::from_str(&doc.to_json(false)).unwrap();
        assert_eq!(v["doc"]["elem"]["id"]["$"], "1");
        let doc = doc.child(Node::new("elem").field("id", "2"));
        let v: Value = serde_json::from_str(&doc.to_json(false)).unwrap();
        assert_eq!(v["doc"]["elem"][1]["id"]["$"], "2");
        let v: Value = serde_json::from_str(&doc.to_json(true)).unwrap();
        assert_eq!(v["doc"]["p_elems"][0]["$"], "1");
    }

    #[test]
    fn xml_escapes_and_uses_attributes() {
        let doc = Node::doc().child(Node::text("msg", "a<b & \"c\"").attr("name", "x&y"));
        assert_eq!(
            doc.to_xml().lines().nth(1).unwrap(),
            "<doc><msg name=\"x&amp;y\">a&lt;b &amp; &quot;c&quot;</msg></doc>"
        );
    }

    #[test]
    fn money_formats() {
        assert_eq!(cents(1250), "12.50");
        assert_eq!(cents(-5), "-0.05");
        assert_eq!(cents_localized(987_550), "9 875.50");
        assert_eq!(cents_localized(100_000_000), "1 000 000.00");
        assert_eq!(cents_localized(99), "0.99");
    }

    #[test]
    fn funds_error_has_the_documented_params() {
        let e = ApiError::not_enough_money(1250, 1000, "EUR");
        let v: Value = serde_json::from_str(&e.to_doc().to_json(false)).unwrap();
        let error = &v["doc"]["error"];
        assert_eq!(error["$type"], "not_enough_money");
        assert_eq!(error["$code"], "1");
        let param = |name: &str| {
            error["param"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["$name"] == name)
                .map(|p| p["$"].as_str().unwrap().to_owned())
        };
        assert_eq!(param("amount").as_deref(), Some("12.50"));
        assert_eq!(param("have").as_deref(), Some("10.00"));
        assert_eq!(param("deficit").as_deref(), Some("2.50"));
        assert_eq!(param("available").as_deref(), Some("10.00"));
        assert_eq!(param("currency").as_deref(), Some("EUR"));
        assert!(param("object").is_none());
        let legacy: Value = serde_json::from_str(&e.to_legacy_doc().to_json(false)).unwrap();
        assert_eq!(legacy["doc"]["error"]["$code"], "4");
    }

    #[test]
    fn legacy_error_shape() {
        let e = ApiError::new("exists", "domain", "taken").value("a.b");
        let v: Value = serde_json::from_str(&e.to_legacy_doc().to_json(false)).unwrap();
        assert_eq!(v["doc"]["error"]["$code"], "2");
        assert_eq!(v["doc"]["error"]["$val"], "a.b");
    }
}
