//! A guest book page for the framework tests: a form with phx-change (a live
//! preview) and phx-submit (sign), so forms are covered without an exercise.

use live::rendered;
use live::{Comprehension, LiveContext, LiveView, MountError, Rendered, Session};
use serde_json::Value;

/// A guest book: a form with phx-change (live preview) and phx-submit (sign).
pub struct Guestbook {
    draft: String,
    names: Vec<String>,
}

impl LiveView for Guestbook {
    type Info = ();

    async fn mount(session: &Session, _ctx: &mut LiveContext<Self>) -> Result<Self, MountError> {
        if session.get("fail").is_some() {
            return Err(MountError("asked to fail".into()));
        }
        Ok(Guestbook {
            draft: String::new(),
            names: Vec::new(),
        })
    }

    fn render(&self) -> Rendered {
        let names: Comprehension = self
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    i.to_string(),
                    rendered!("<li class=\"name\">" { name } "</li>"),
                )
            })
            .collect();
        rendered!(
            "<form id=\"sign\" phx-change=\"draft\" phx-submit=\"sign\"><input name=\"name\" id=\"name\"><button>Sign</button></form><p id=\"preview\">"
            { &self.draft } "</p><ul>" { names } "</ul>"
        )
    }

    async fn handle_event(&mut self, event: &str, value: Value, _ctx: &mut LiveContext<Self>) {
        let name = value["name"].as_str().unwrap_or_default().to_owned();
        match event {
            "draft" => self.draft = name,
            "sign" if !name.is_empty() => {
                self.names.push(name);
                self.draft.clear();
            }
            _ => {}
        }
    }
}
