//! A rendered template split into what never changes (the statics) and what may (the
//! dynamics), in the shape the `phoenix_live_view` JavaScript client reads.
//!
//! A template is a list of static strings with one dynamic between each pair:
//! `["<p>Hello ", "!</p>"]` and `["Ada"]` render `<p>Hello Ada!</p>`. The statics are
//! `&'static str` slices from the program itself, so a render allocates only for the
//! dynamics, and two renders of the same template share their statics by pointer.
//!
//! On the wire (JSON):
//!
//! | piece | encoding |
//! |---|---|
//! | a template | `{"s": [statics...], "0": dyn0, "1": dyn1, ...}` |
//! | a text dynamic | a string, HTML-escaped already |
//! | a nested template | an object like the above |
//! | a list (comprehension) | `{"s": [statics of one entry], "k": {"0": {"0": .., "1": ..}, ..., "kc": count}}` |
//!
//! The first render sends everything; afterwards [`Rendered::diff`] sends only the
//! dynamics that changed, by index, and no statics at all unless a template was
//! swapped for another. Lists are keyed (an activity's id), so a new entry at the top
//! of a list of 25 costs one new entry plus 25 small "entry i is old entry j" moves,
//! not 26 re-sent entries.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// Renders a template: static string literals alternating with `{expression}`
/// dynamics, always starting and ending with a literal (use `""` where needed).
///
/// ```
/// use live::rendered;
/// let name = "Ada <3";
/// let page = rendered!("<p>Hello " {name} "!</p>");
/// assert_eq!(page.to_html(), "<p>Hello Ada &lt;3!</p>");
/// ```
#[macro_export]
macro_rules! rendered {
    ($first:literal $( { $dynamic:expr } $static:literal )*) => {
        $crate::Rendered::new(
            &[$first $(, $static)*],
            vec![$( $crate::Dynamic::from($dynamic) ),*],
        )
    };
}

/// One render of a template: its statics and the current value of each dynamic.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    statics: &'static [&'static str],
    dynamics: Vec<Dynamic>,
}

/// The value of one dynamic slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    /// Text, already HTML-escaped (build it with [`Dynamic::text`] or `From`).
    Text(String),
    /// A nested template (a part of the page that has its own statics).
    Nested(Rendered),
    /// A list of entries sharing one template.
    List(Comprehension),
}

/// A keyed list of renders of one template (Phoenix calls it a comprehension).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comprehension {
    /// The statics of every entry; `None` while the list is empty.
    statics: Option<&'static [&'static str]>,
    entries: Vec<(String, Vec<Dynamic>)>,
}

impl Rendered {
    /// A render of the template `statics` with `dynamics` between them.
    ///
    /// # Panics
    /// If `statics` is not one longer than `dynamics` (the [`rendered!`] macro
    /// guarantees it).
    pub fn new(statics: &'static [&'static str], dynamics: Vec<Dynamic>) -> Rendered {
        assert_eq!(
            statics.len(),
            dynamics.len() + 1,
            "a template has one more static than dynamics"
        );
        Rendered { statics, dynamics }
    }

    /// The template's static strings.
    pub fn statics(&self) -> &'static [&'static str] {
        self.statics
    }

    /// The dynamics, in order.
    pub fn dynamics(&self) -> &[Dynamic] {
        &self.dynamics
    }

    /// The HTML this render stands for (the static, first-request page uses it).
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        write_html(self.statics, &self.dynamics, &mut html);
        html
    }

    /// Everything, statics included: what the client gets when it joins.
    pub fn to_json(&self) -> Value {
        let mut object = dynamics_json(&self.dynamics);
        object.insert("s".into(), statics_json(self.statics));
        Value::Object(object)
    }

    /// What changed from `old` to `self`: only the dynamics that differ, by index;
    /// statics only where a template was replaced by another. An empty object when
    /// nothing changed.
    pub fn diff(&self, old: &Rendered) -> Map<String, Value> {
        match diff_rendered(old, self) {
            Some(Value::Object(changes)) => changes,
            // Both a change set and a full render (swapped template) are objects.
            _ => Map::new(),
        }
    }
}

impl Dynamic {
    /// Text from user data, HTML-escaped.
    pub fn text(text: &str) -> Dynamic {
        Dynamic::Text(escape(text))
    }

    fn to_json(&self) -> Value {
        match self {
            Dynamic::Text(text) => Value::String(text.clone()),
            Dynamic::Nested(rendered) => rendered.to_json(),
            Dynamic::List(list) => list.to_json(),
        }
    }
}

impl From<&str> for Dynamic {
    fn from(text: &str) -> Self {
        Dynamic::text(text)
    }
}

impl From<&String> for Dynamic {
    fn from(text: &String) -> Self {
        Dynamic::text(text)
    }
}

impl From<String> for Dynamic {
    fn from(text: String) -> Self {
        Dynamic::text(&text)
    }
}

macro_rules! numbers_are_text {
    ($($t:ty),*) => {$(
        impl From<$t> for Dynamic {
            fn from(number: $t) -> Self {
                Dynamic::Text(number.to_string())
            }
        }
    )*};
}
numbers_are_text!(i64, u64, usize, u32, i32);

impl From<Rendered> for Dynamic {
    fn from(rendered: Rendered) -> Self {
        Dynamic::Nested(rendered)
    }
}

impl From<Comprehension> for Dynamic {
    fn from(list: Comprehension) -> Self {
        Dynamic::List(list)
    }
}

impl Comprehension {
    /// An empty list.
    pub fn new() -> Comprehension {
        Comprehension::default()
    }

    /// Appends an entry identified by `key` (keys let a diff say "moved" instead of
    /// re-sending an entry).
    ///
    /// # Panics
    /// If `entry`'s template differs from the entries already in the list.
    pub fn push(&mut self, key: impl Into<String>, entry: Rendered) {
        let statics = *self.statics.get_or_insert(entry.statics);
        assert!(
            statics == entry.statics,
            "every entry of a list renders the same template"
        );
        self.entries.push((key.into(), entry.dynamics));
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn statics(&self) -> &'static [&'static str] {
        // An empty list renders nothing, so any one-element statics will do.
        self.statics.unwrap_or(&[""])
    }

    fn to_json(&self) -> Value {
        let mut keyed = Map::new();
        for (index, (_, dynamics)) in self.entries.iter().enumerate() {
            keyed.insert(index.to_string(), Value::Object(dynamics_json(dynamics)));
        }
        keyed.insert("kc".into(), json!(self.entries.len()));
        json!({ "s": statics_json(self.statics()), "k": keyed })
    }
}

/// `(key, entry)` pairs collect into a list.
impl FromIterator<(String, Rendered)> for Comprehension {
    fn from_iter<T: IntoIterator<Item = (String, Rendered)>>(iter: T) -> Self {
        let mut list = Comprehension::new();
        for (key, entry) in iter {
            list.push(key, entry);
        }
        list
    }
}

/// Escapes the five characters that could end text and start markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn write_html(statics: &[&str], dynamics: &[Dynamic], html: &mut String) {
    for (index, piece) in statics.iter().enumerate() {
        html.push_str(piece);
        match dynamics.get(index) {
            Some(Dynamic::Text(text)) => html.push_str(text),
            Some(Dynamic::Nested(rendered)) => {
                write_html(rendered.statics, &rendered.dynamics, html)
            }
            Some(Dynamic::List(list)) => {
                for (_, entry) in &list.entries {
                    write_html(list.statics(), entry, html);
                }
            }
            None => {}
        }
    }
}

fn statics_json(statics: &[&str]) -> Value {
    Value::Array(statics.iter().map(|s| Value::String((*s).into())).collect())
}

fn dynamics_json(dynamics: &[Dynamic]) -> Map<String, Value> {
    let mut object = Map::new();
    for (index, dynamic) in dynamics.iter().enumerate() {
        object.insert(index.to_string(), dynamic.to_json());
    }
    object
}

// ANCHOR: diff_rendered
/// `None` when nothing changed; a full render when the template changed; else an
/// object holding only the changed dynamics.
fn diff_rendered(old: &Rendered, new: &Rendered) -> Option<Value> {
    if old.statics != new.statics {
        return Some(new.to_json());
    }
    diff_dynamics(&old.dynamics, &new.dynamics).map(Value::Object)
}
// ANCHOR_END: diff_rendered

/// The changed dynamics of two renders of one template, by index.
fn diff_dynamics(old: &[Dynamic], new: &[Dynamic]) -> Option<Map<String, Value>> {
    let mut changes = Map::new();
    for (index, (before, after)) in old.iter().zip(new).enumerate() {
        if let Some(change) = diff_dynamic(before, after) {
            changes.insert(index.to_string(), change);
        }
    }
    (!changes.is_empty()).then_some(changes)
}

fn diff_dynamic(old: &Dynamic, new: &Dynamic) -> Option<Value> {
    match (old, new) {
        (Dynamic::Text(before), Dynamic::Text(after)) => {
            (before != after).then(|| Value::String(after.clone()))
        }
        (Dynamic::Nested(before), Dynamic::Nested(after)) => diff_rendered(before, after),
        (Dynamic::List(before), Dynamic::List(after)) => diff_list(before, after),
        // A slot that changed kind is sent whole.
        (_, after) => Some(after.to_json()),
    }
}

// ANCHOR: diff_list
/// A keyed list diff, as the client merges it: for each position of the new list,
/// nothing (same entry, unchanged), `{changes}` (same entry, changed), `j` (the entry
/// that was at position `j`), `[j, {changes}]` (moved and changed) or a whole new
/// entry; `kc` is the new count and `km` says that some entries moved (the client
/// then reads moved entries from a copy of the old list).
fn diff_list(old: &Comprehension, new: &Comprehension) -> Option<Value> {
    if old.statics() != new.statics() && !old.is_empty() && !new.is_empty() {
        return Some(new.to_json());
    }
    if old.is_empty() && !new.is_empty() {
        // The old list had no template yet: send the new one whole.
        return Some(new.to_json());
    }
    let mut old_positions: HashMap<&str, usize> = HashMap::with_capacity(old.len());
    for (index, (key, _)) in old.entries.iter().enumerate() {
        old_positions.entry(key.as_str()).or_insert(index);
    }
    let mut keyed = Map::new();
    let mut moves = 0usize;
    for (index, (key, dynamics)) in new.entries.iter().enumerate() {
        // A key seen twice in the new list is new the second time.
        let was = old_positions.remove(key.as_str());
        let entry = match was {
            Some(j) => {
                let changes = diff_dynamics(&old.entries[j].1, dynamics);
                match (j == index, changes) {
                    (true, None) => continue,
                    (true, Some(changes)) => Value::Object(changes),
                    (false, None) => {
                        moves += 1;
                        json!(j)
                    }
                    (false, Some(changes)) => {
                        moves += 1;
                        json!([j, changes])
                    }
                }
            }
            None => Value::Object(dynamics_json(dynamics)),
        };
        keyed.insert(index.to_string(), entry);
    }
    if keyed.is_empty() && old.len() == new.len() {
        return None;
    }
    keyed.insert("kc".into(), json!(new.len()));
    if moves > 0 {
        keyed.insert("km".into(), json!(moves));
    }
    Some(json!({ "k": keyed }))
}
// ANCHOR_END: diff_list

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> Rendered {
        rendered!("<li>" { name } "</li>")
    }

    fn list(names: &[&str]) -> Rendered {
        let items: Comprehension = names.iter().map(|n| ((*n).to_string(), item(n))).collect();
        rendered!("<ul>" { items } "</ul><p>" { names.len() } "</p>")
    }

    #[test]
    fn html_interleaves_statics_and_escaped_dynamics() {
        assert_eq!(
            list(&["a<b", "c"]).to_html(),
            "<ul><li>a&lt;b</li><li>c</li></ul><p>2</p>"
        );
    }

    #[test]
    fn the_first_render_carries_statics_and_a_diff_only_changes() {
        let old = list(&["ada", "bob"]);
        assert_eq!(
            old.to_json(),
            json!({"s": ["<ul>", "</ul><p>", "</p>"], "0": {"s": ["<li>", "</li>"],
                "k": {"0": {"0": "ada"}, "1": {"0": "bob"}, "kc": 2}}, "1": "2"})
        );
        let new = list(&["cy", "ada", "bob"]);
        assert_eq!(
            Value::Object(new.diff(&old)),
            json!({"0": {"k": {"0": {"0": "cy"}, "1": 0, "2": 1, "kc": 3, "km": 2}}, "1": "3"})
        );
        assert!(new.diff(&new.clone()).is_empty());
    }

    #[test]
    fn removal_and_in_place_change() {
        let old = list(&["ada", "bob"]);
        let new = list(&["ada"]);
        assert_eq!(
            Value::Object(new.diff(&old)),
            json!({"0": {"k": {"kc": 1}}, "1": "1"})
        );
    }
}
