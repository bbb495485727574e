//! One decoded tree for every answer format the billing sends.
//!
//! BILLmanager's JSON (`out=json`, also the `sjson`/`xjson` shapes) is XML turned into JSON:
//! element text under `"$"`, attributes under `"$name"` keys, one child an object and several a
//! list. [`Doc::decode`] reads both that and the XML itself into the same [`Node`] tree, so the
//! accessors below never care which format, or whether a row came alone or in a list.

use serde_json::Value;

/// Deepest nesting accepted from the wire; deeper bodies are rejected, not recursed into.
pub(crate) const MAX_DEPTH: usize = 200;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An HTML page where an API answer was expected (a login page, an error page, no `out=`).
    #[error("an HTML page instead of an API answer")]
    Html,
    /// The body is empty.
    #[error("an empty body")]
    Empty,
    /// JSON that is not valid or not an object.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// XML that is not well formed.
    #[error("invalid XML: {0}")]
    Xml(String),
    /// Nesting deeper than the decoder accepts.
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// One element: its name, attributes, text and child elements in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) text: Option<String>,
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// An element with a name and nothing else.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The element name (`elem`, `error`, `addon_10`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An attribute (XML attribute, JSON `"$name"` key), without the `$`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All attributes in order.
    pub fn attrs(&self) -> &[(String, String)] {
        &self.attrs
    }

    /// The element text (XML text content, JSON `"$"`), trimmed; `None` when absent or blank.
    pub fn text(&self) -> Option<&str> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this name: always a list, whether the wire had one or several.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// All children in document order.
    pub fn all_children(&self) -> &[Node] {
        &self.children
    }

    /// A field of a row or form: the child's text, else an attribute of that name.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.child(name)
            .and_then(Node::text)
            .or_else(|| self.attr(name).map(str::trim).filter(|v| !v.is_empty()))
    }

    /// Like [`Node::value`], owned.
    pub fn value_string(&self, name: &str) -> Option<String> {
        self.value(name).map(str::to_owned)
    }

    /// The first child named `name` here, else inside a nested `doc` (`doc.doc.newexpiredate`).
    pub fn find(&self, name: &str) -> Option<&Node> {
        self.child(name)
            .or_else(|| self.children("doc").find_map(|d| d.child(name)))
    }

    /// The child named `list_name` whose `name` attribute is `key` (`slist[$name=period]`).
    pub fn named<'a>(&'a self, list_name: &'a str, key: &str) -> Option<&'a Node> {
        self.children(list_name)
            .find(|n| n.attr("name") == Some(key))
    }

    /// Adds a child (used by tests and the decoders).
    pub fn push(&mut self, child: Node) {
        self.children.push(child);
    }

    /// Sets an attribute.
    pub fn set_attr(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.attrs.push((name.into(), value.into()));
    }

    /// Sets the text.
    pub fn set_text(&mut self, text: impl Into<String>) {
        self.text = Some(text.into());
    }
}

/// A decoded answer: the `<doc>` element, plus whether the body ended early.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doc {
    pub(crate) root: Node,
    pub(crate) truncated: bool,
}

impl std::ops::Deref for Doc {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.root
    }
}

impl Doc {
    /// Wraps an already built `doc` element.
    pub fn from_root(root: Node) -> Self {
        Self {
            root,
            truncated: false,
        }
    }

    /// The `doc` element.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// True when an XML body ended with elements still open (a cut-off answer).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The `error` element, at the top, inside a nested `doc`, or under `warning`.
    pub fn error(&self) -> Option<&Node> {
        self.find("error")
            .or_else(|| self.child("warning").and_then(|w| w.child("error")))
    }

    /// Decodes a body, JSON or XML by its first character (whatever was asked for).
    ///
    /// A BILLmanager 4 success page calling `fr_master('startpage=vds', …)` decodes to
    /// `<doc><ok>startpage=vds</ok></doc>`; any other HTML is [`DecodeError::Html`].
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() {
            return Err(DecodeError::Empty);
        }
        if let Some(target) = fr_master_target(trimmed) {
            let mut root = Node::new("doc");
            let mut ok = Node::new("ok");
            ok.set_text(target);
            root.push(ok);
            return Ok(Self::from_root(root));
        }
        if looks_like_html(trimmed) {
            return Err(DecodeError::Html);
        }
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            Self::from_json(trimmed)
        } else if trimmed.starts_with('<') {
            Self::from_xml(trimmed)
        } else {
            Err(DecodeError::Json("neither JSON nor XML".into()))
        }
    }

    /// Decodes the JSON forms (`{"doc": {...}}`; a bare object is taken as the doc itself).
    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
        let Value::Object(mut map) = value else {
            return Err(DecodeError::Json("the top level is not an object".into()));
        };
        let doc_value = match map.remove("doc") {
            // sjson may wrap even the doc in a list
            Some(Value::Array(mut items)) if !items.is_empty() => items.swap_remove(0),
            Some(v) => v,
            None => Value::Object(map),
        };
        let mut root = Node::new("doc");
        fill_from_json(&mut root, doc_value, 0)?;
        Ok(Self::from_root(root))
    }

    /// Decodes XML; several top-level elements, or one that is not `doc`, are wrapped in a `doc`.
    /// Elements still open at the end are closed and the doc is marked truncated.
    pub fn from_xml(text: &str) -> Result<Self, DecodeError> {
        super::xml::XmlBuilder::default().run(text)
    }
}

/// Fills `node` from a JSON value of the XML-as-JSON convention.
fn fill_from_json(node: &mut Node, value: Value, depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$" {
                    node.text = scalar_text(&v);
                } else if let Some(attr) = key.strip_prefix('$') {
                    if let Some(s) = scalar_text(&v) {
                        node.attrs.push((attr.to_owned(), s));
                    }
                } else {
                    push_json_children(node, &key, v, depth)?;
                }
            }
        }
        Value::Array(items) => {
            // a list where one element was expected (sjson): take its items' content in turn
            for item in items {
                fill_from_json(node, item, depth + 1)?;
            }
        }
        other => node.text = scalar_text(&other),
    }
    Ok(())
}

fn push_json_children(
    node: &mut Node,
    key: &str,
    value: Value,
    depth: usize,
) -> Result<(), DecodeError> {
    match value {
        Value::Array(items) => {
            for item in items {
                let mut child = Node::new(key);
                fill_from_json(&mut child, item, depth + 1)?;
                node.children.push(child);
            }
        }
        other => {
            let mut child = Node::new(key);
            fill_from_json(&mut child, other, depth + 1)?;
            node.children.push(child);
        }
    }
    Ok(())
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => items.first().and_then(scalar_text),
        Value::Object(map) => map.get("$").and_then(scalar_text),
        Value::Null => None,
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.contains("<html")
        || head.contains("<script")
        || head.contains("<head")
        || head.contains("<body")
}

/// The first argument of a BILLmanager 4 `fr_master('…', …)` success page.
fn fr_master_target(text: &str) -> Option<String> {
    let at = text.find("fr_master(")?;
    if !text.trim_start().starts_with('<') {
        return None;
    }
    let rest = &text[at + "fr_master(".len()..];
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    let end = inner.find(quote)?;
    Some(inner[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_single_object_and_list_read_the_same() {
        let one = Doc::decode(br#"{"doc":{"elem":{"id":{"$":"7"}}}}"#).unwrap();
        let many = Doc::decode(br#"{"doc":{"elem":[{"id":{"$":"7"}},{"id":{"$":"8"}}]}}"#).unwrap();
        let ids = |d: &Doc| -> Vec<String> {
            d.children("elem")
                .filter_map(|e| e.value_string("id"))
                .collect()
        };
        assert_eq!(ids(&one), ["7"]);
        assert_eq!(ids(&many), ["7", "8"]);
    }

    #[test]
    fn sjson_lists_and_attributes() {
        let d = Doc::decode(
            br#"{"doc":{"elem":[{"balance":[{"$":"12.30 EUR"}]}],"auth":{"$id":"abc"}}}"#,
        )
        .unwrap();
        let elem = d.child("elem").unwrap();
        assert_eq!(elem.value("balance"), Some("12.30 EUR"));
        assert_eq!(d.child("auth").unwrap().attr("id"), Some("abc"));
    }

    #[test]
    fn xml_entities_cdata_and_nested_doc() {
        let d = Doc::decode(
            b"<?xml version=\"1.0\"?><doc><doc><newexpiredate>2025-01-01</newexpiredate></doc>\
              <msg>a &amp; b &#65;</msg><c><![CDATA[<x>]]></c></doc>",
        )
        .unwrap();
        assert_eq!(
            d.find("newexpiredate").and_then(Node::text),
            Some("2025-01-01")
        );
        assert_eq!(d.value("msg"), Some("a & b A"));
        assert_eq!(d.value("c"), Some("<x>"));
        assert!(!d.is_truncated());
    }

    #[test]
    fn truncated_xml_is_closed_and_marked() {
        let d =
            Doc::decode(b"<doc><error type=\"xml\" object=\"xpath\"><group>An error when").unwrap();
        assert!(d.is_truncated());
        assert_eq!(d.error().and_then(|e| e.attr("type")), Some("xml"));
    }

    #[test]
    fn html_is_refused_but_fr_master_is_success() {
        assert_eq!(
            Doc::decode(b"<html><body>login</body></html>"),
            Err(DecodeError::Html)
        );
        let d = Doc::decode(
            b"<script language='JavaScript'>fr_master('startpage=vds', 'top.');</script>",
        )
        .unwrap();
        assert_eq!(d.value("ok"), Some("startpage=vds"));
        assert_eq!(Doc::decode(b"  "), Err(DecodeError::Empty));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let body = "<a>".repeat(MAX_DEPTH + 5);
        assert_eq!(Doc::decode(body.as_bytes()), Err(DecodeError::TooDeep));
    }
}
