//! The contract with the page, kept one. Its TypeScript types (`ui/src/generated/ipc.ts`) are
//! generated from the Rust types the app sends the page and takes from it: the events'
//! payloads (`page_event_names.rs`), and the commands' answers and arguments listed in
//! [`command_types`]; every type they contain comes along. The tests fail when the file is not
//! what the types say (rewrite it with `cargo xtask ipc-types`), and when the commands
//! registered, granted, wrapped for the page and documented are not the same list.

use std::{
    any::TypeId,
    collections::{BTreeMap, BTreeSet, HashSet},
    path::PathBuf,
};

use ts_rs::{Config, TS, TypeVisitor};

use crate::{
    page_event_names,
    page_events::{EventVisitor, PageEvent},
};

/// Where the generated file lives, from this crate's directory.
const GENERATED: &str = "../ui/src/generated/ipc.ts";

const HEADER: &str = "\
// Generated from the Rust types by src-tauri/src/ipc_contract.rs: do not edit.
// Rewrite it with `cargo xtask ipc-types`; `cargo xtask test` fails when it is not current.
";

/// What commands answer and take, besides what the events carry.
fn command_types(types: &mut Declarations) {
    use natter_protocol as protocol;

    use crate::{account_commands, call_commands, commands, desktop};

    types.visit::<desktop::IpcError>();
    types.visit::<desktop::Settings>();
    types.visit::<natter_client::view::MessagePageView>();
    types.visit::<commands::SearchHit>();
    types.visit::<crate::file_desk::StagedFile>();
    types.visit::<protocol::User>();
    types.visit::<protocol::CallKind>();
    types.visit::<call_commands::DevicesView>();
    types.visit::<call_commands::DeviceKind>();
    types.visit::<call_commands::CallHistoryPage>();
    types.visit::<protocol::ServerInfo>();
    types.visit::<protocol::AccountInfo>();
    types.visit::<protocol::SessionInfo>();
    types.visit::<account_commands::TotpSetupView>();
    types.visit::<account_commands::CreatedInviteView>();
    types.visit::<protocol::Invite>();
    types.visit::<protocol::AdminUserPage>();
    types.visit::<protocol::PasswordResetCode>();
    types.visit::<protocol::AdminStats>();
    types.visit::<protocol::AuditPage>();
    types.visit::<protocol::Report>();
}

/// The declarations found so far, by TypeScript name (which must be unique: the page imports
/// them from one file).
struct Declarations {
    config: Config,
    seen: HashSet<TypeId>,
    by_name: BTreeMap<String, (&'static str, String)>,
    events: Vec<(&'static str, String)>,
}

impl TypeVisitor for Declarations {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives, `Option`, `Vec`… have no declaration of their own.
        if T::output_path().is_none() || !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let name = T::ident(&self.config);
        let rust_name = std::any::type_name::<T>();
        let declaration = format!(
            "{}export {}\n",
            T::docs().unwrap_or_default(),
            T::decl(&self.config)
        );
        let earlier = self
            .by_name
            .insert(name.clone(), (rust_name, declaration.clone()));
        // serde_json's `Value` is declared as ts-rs' own JSON type: one name, one declaration.
        if let Some((other, earlier)) = earlier
            && earlier != declaration
        {
            panic!(
                "{other} and {rust_name} are both called {name} in TypeScript: rename one \
                 (#[ts(rename = \"…\")])"
            );
        }
        T::visit_dependencies(self);
    }
}

impl EventVisitor for Declarations {
    fn event<E: PageEvent>(&mut self) {
        self.events.push((E::NAME, E::name(&self.config)));
        self.visit::<E>();
    }
}

/// The whole generated file.
pub fn render() -> String {
    let mut types = Declarations {
        // Times and counts are far below 2^53: plain numbers in JavaScript.
        config: Config::new().with_large_int("number"),
        seen: HashSet::new(),
        by_name: BTreeMap::new(),
        events: Vec::new(),
    };
    page_event_names::visit_all(&mut types);
    command_types(&mut types);

    let mut file = String::from(HEADER);
    for (_, declaration) in types.by_name.values() {
        file.push('\n');
        file.push_str(declaration);
    }
    file.push_str("\n/** Each `natter://…` event's payload. */\nexport type EventPayloads = {\n");
    for (name, payload) in &types.events {
        file.push_str(&format!("  \"{name}\": {payload};\n"));
    }
    file.push_str("};\n");
    file
}

fn generated_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(GENERATED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo xtask ipc-types` runs this with `NATTER_WRITE_IPC_TYPES=1` to rewrite the file.
    #[test]
    fn the_pages_ipc_types_are_current() {
        let rendered = render();
        let path = generated_path();
        if std::env::var_os("NATTER_WRITE_IPC_TYPES").is_some() {
            std::fs::create_dir_all(path.parent().expect("the file is in a directory"))
                .expect("create ui/src/generated");
            std::fs::write(&path, &rendered).expect("write the IPC types");
            return;
        }
        // A Windows checkout may have turned the file's line ends into CR LF.
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .replace("\r\n", "\n");
        assert!(
            on_disk == rendered,
            "{} is not what the Rust types say: run `cargo xtask ipc-types` and commit it",
            path.display()
        );
    }

    #[test]
    fn no_two_events_share_a_name() {
        let mut names = Vec::new();
        page_event_names::visit_all(&mut Names(&mut names));
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    /// Every event goes through `page_events::emit`, so its payload is the one generated.
    #[test]
    fn events_are_emitted_only_through_page_events() {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&source).expect("read src-tauri/src") {
            let path = entry.expect("list src-tauri/src").path();
            // That module emits; this one names the calls it looks for.
            if path
                .file_name()
                .is_some_and(|name| name == "page_events.rs" || name == "ipc_contract.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            if text.contains(".emit(") || text.contains("Emitter::emit") {
                offenders.push(path.display().to_string());
            }
        }
        assert!(
            offenders.is_empty(),
            "these emit events by hand, not through page_events::emit: {offenders:?}"
        );
    }

    /// Every command is registered in `lib.rs`, listed in `build.rs`, granted to the main
    /// window, called by the page and documented in docs/desktop-ipc.md: one list, five places.
    #[test]
    fn every_command_is_registered_granted_called_and_documented() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let read = |path: PathBuf| {
            std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
        };

        let lib = read(root.join("src/lib.rs"));
        let handler = between(&lib, "generate_handler![", "]");
        let registered: BTreeSet<String> = handler
            .split(',')
            .filter_map(|path| path.trim().rsplit("::").next())
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();

        let build = read(root.join("build.rs"));
        let listed: BTreeSet<String> =
            quoted(between(&build, "const COMMANDS: &[&str] = &[", "];"))
                .into_iter()
                .collect();

        let capabilities = read(root.join("capabilities/default.json"));
        let granted: BTreeSet<String> = quoted(&capabilities)
            .into_iter()
            .filter_map(|permission| {
                permission
                    .strip_prefix("allow-")
                    .map(|name| name.replace('-', "_"))
            })
            .collect();

        let mut called = BTreeSet::new();
        for entry in std::fs::read_dir(root.join("../ui/src")).expect("read ui/src") {
            let path = entry.expect("list ui/src").path();
            if path.extension().is_some_and(|extension| extension == "ts") {
                let text = read(path);
                // `invoke<Answer>("name", …)`: the name is the first string after it.
                for (at, _) in text.match_indices("invoke<") {
                    if let Some(name) = quoted(&text[at..]).into_iter().next() {
                        called.insert(name);
                    }
                }
            }
        }

        let document = read(root.join("../docs/desktop-ipc.md"));
        let documented: BTreeSet<String> = document
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|line| line.split(" |").next())
            .flat_map(|cell| cell.split(" / "))
            .map(|name| name.trim_matches('`').to_owned())
            // Commands are snake_case; the tables of types and events name other things.
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();

        assert!(registered.len() > 60, "lib.rs not read: {registered:?}");
        for (place, names) in [
            ("build.rs COMMANDS", &listed),
            ("capabilities/default.json", &granted),
            ("ui/src (invoke)", &called),
            ("docs/desktop-ipc.md", &documented),
        ] {
            let missing: Vec<_> = registered.difference(names).collect();
            let extra: Vec<_> = names.difference(&registered).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{place} differs from the commands registered in lib.rs: missing {missing:?}, \
                 not registered {extra:?}"
            );
        }
    }

    /// The text between the first `start` and the next `end` after it.
    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let from = text
            .find(start)
            .unwrap_or_else(|| panic!("{start} not found"))
            + start.len();
        let to = text[from..].find(end).expect("the list ends") + from;
        &text[from..to]
    }

    /// Every "double-quoted" string of a text.
    fn quoted(text: &str) -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    struct Names<'a>(&'a mut Vec<&'static str>);

    impl EventVisitor for Names<'_> {
        fn event<E: PageEvent>(&mut self) {
            self.0.push(E::NAME);
        }
    }
}
