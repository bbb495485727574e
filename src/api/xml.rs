//! The XML side of [`Doc::decode`]: a lenient tree builder over quick-xml events.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};

use super::doc::{DecodeError, Doc, MAX_DEPTH, Node};

/// Most attributes read from one XML element (guards against pathological input).
const MAX_ATTRS: usize = 256;

/// Builds the tree from quick-xml events with an explicit stack (no recursion).
#[derive(Default)]
pub(crate) struct XmlBuilder {
    stack: Vec<Node>,
    tops: Vec<Node>,
}

impl XmlBuilder {
    pub(crate) fn run(mut self, text: &str) -> Result<Doc, DecodeError> {
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().check_end_names = false;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| DecodeError::Xml(e.to_string()))?;
            match event {
                Event::Start(start) => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(DecodeError::TooDeep);
                    }
                    self.stack.push(element(&start));
                }
                Event::Empty(start) => {
                    let node = element(&start);
                    self.attach(node);
                }
                Event::End(end) => {
                    let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                    self.close(&name);
                }
                Event::Text(t) => {
                    let raw = t.decode().map_err(|e| DecodeError::Xml(e.to_string()))?;
                    self.append_text(&unescape(&raw));
                }
                Event::CData(c) => {
                    let raw = c.decode().map_err(|e| DecodeError::Xml(e.to_string()))?;
                    self.append_text(&raw);
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => {
                            let name = r.decode().map_err(|e| DecodeError::Xml(e.to_string()))?;
                            unescape(&format!("&{name};")).into_owned()
                        }
                    };
                    self.append_text(&resolved);
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        let truncated = !self.stack.is_empty();
        while let Some(node) = self.stack.pop() {
            self.attach(node);
        }
        let mut tops = self.tops;
        let root = if tops.len() == 1 && tops[0].name == "doc" {
            tops.swap_remove(0)
        } else if tops.is_empty() {
            return Err(DecodeError::Xml("no element".into()));
        } else {
            Node {
                name: "doc".into(),
                children: tops,
                ..Node::default()
            }
        };
        Ok(Doc { root, truncated })
    }

    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.tops.push(node),
        }
    }

    /// Closes the innermost open element of that name (and any left open inside it).
    fn close(&mut self, name: &str) {
        if !self.stack.iter().any(|n| n.name == name) {
            return; // a stray end tag: ignore it
        }
        while let Some(node) = self.stack.pop() {
            let done = node.name == name;
            self.attach(node);
            if done {
                break;
            }
        }
    }

    fn append_text(&mut self, text: &str) {
        if let Some(node) = self.stack.last_mut() {
            node.text.get_or_insert_with(String::new).push_str(text);
        }
    }
}

fn element(start: &BytesStart<'_>) -> Node {
    let mut node = Node::new(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
    let mut attributes = start.attributes();
    attributes.with_checks(false);
    for attr in attributes.take(MAX_ATTRS).filter_map(Result::ok) {
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = match attr.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&attr.value).into_owned(),
        };
        node.attrs.push((key, value));
    }
    node
}

/// Replaces the predefined entities and numeric character references; leaves others as they are.
fn unescape(raw: &str) -> Cow<'_, str> {
    quick_xml::escape::unescape(raw).unwrap_or(Cow::Borrowed(raw))
}
