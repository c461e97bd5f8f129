//! Keeps the module graphs free of import circles (ARCHITECTURE.md's invariants): a test reads
//! the server's and the desktop app's sources, follows `crate::…` paths between their
//! top-level modules (`x.rs` or `x/`), and fails naming every circle it finds.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

/// Top-level module → the top-level modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads the graph of the crate whose sources are in `src` (the crate root files `lib.rs` and
/// `main.rs`, which wire everything, and `skip` are left out).
fn module_graph(src: &Path, skip: &[&str]) -> std::io::Result<Graph> {
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let mut modules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let Some(first) = relative.components().next() else {
            continue;
        };
        let name = first.as_os_str().to_string_lossy();
        let module = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
        if ["lib", "main"].contains(&module.as_str()) || skip.contains(&module.as_str()) {
            continue;
        }
        modules
            .entry(module)
            .or_default()
            .push(fs::read_to_string(&file)?);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    Ok(modules
        .into_iter()
        .map(|(module, texts)| {
            let named = texts
                .iter()
                .flat_map(|text| crate_paths(&without_comments(text)))
                .filter(|name| *name != module && names.contains(name))
                .collect();
            (module, named)
        })
        .collect())
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The text without `//` comments (doc comments name modules without depending on them).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every `crate::a::…` path and of every top-level name in
/// `crate::{a, b::c, d::{e, f}}`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut current = String::new();
            for character in group.chars() {
                match character {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(first_segment(&current));
                        current.clear();
                        continue;
                    }
                    _ => {}
                }
                current.push(character);
            }
            names.push(first_segment(&current));
        } else {
            names.push(first_segment(rest));
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

fn first_segment(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|character| character.is_alphanumeric() || *character == '_')
        .collect()
}

/// The graph's circles (strongly connected components of more than one module), by Tarjan.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Search<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, module: &'a str) {
            let order = self.index.len();
            self.index.insert(module, order);
            self.low.insert(module, order);
            self.stack.push(module);
            for next in self.graph.get(module).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[module].min(self.low[next]);
                    self.low.insert(module, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[module].min(self.index[next]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    component.push(member.to_owned());
                    if member == module {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for module in graph.keys() {
        if !search.index.contains_key(module.as_str()) {
            search.visit(module);
        }
    }
    search.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask sits in the workspace")
    }

    fn assert_no_circles(src: &str, skip: &[&str]) {
        let graph = module_graph(&root().join(src), skip).expect("the sources read");
        assert!(graph.len() > 5, "{src}: only {} modules found", graph.len());
        let found = circles(&graph);
        assert!(
            found.is_empty(),
            "{src}: modules import each other in a circle: {found:?}"
        );
    }

    #[test]
    fn the_server_has_no_import_circle() {
        assert_no_circles("server/src", &[]);
    }

    #[test]
    fn the_desktop_app_has_no_import_circle() {
        assert_no_circles("src-tauri/src", &[]);
    }

    #[test]
    fn a_circle_is_found_and_named() {
        let text_a = "use crate::{b::Thing, c};\nfn f() { crate::d::g() }";
        assert_eq!(crate_paths(text_a), ["b", "c", "d"]);
        assert_eq!(
            crate_paths("use crate::{x::{y, z}, w};"),
            ["x", "w"],
            "nested groups name their first segment once"
        );
        assert!(crate_paths(&without_comments("/// see crate::a\n// crate::b")).is_empty());
        let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
            .into_iter()
            .map(|(from, to)| (from.to_owned(), BTreeSet::from([to.to_owned()])))
            .collect();
        assert_eq!(circles(&graph), [["a", "b", "c"]]);
    }
}
