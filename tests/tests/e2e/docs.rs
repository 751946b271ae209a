//! The repository's documentation stands on its own and says what the code
//! does: the route table of docs/api.md is exactly the routes the server
//! publishes in its OpenAPI document, and every link between the docs
//! points at a file that exists.

use oms_tests::Harness;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `GET /v1/orders/{id}` rows of the table in docs/api.md.
fn documented_routes() -> BTreeSet<String> {
    read("docs/api.md")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", method, path, ..] if method.starts_with('`') && path.starts_with("`/") => {
                    Some(format!(
                        "{} {}",
                        method.trim_matches('`'),
                        path.trim_matches('`')
                    ))
                }
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn the_api_reference_lists_exactly_the_published_routes() {
    let h = Harness::simulated(Duration::from_secs(3600)).await;
    let doc: serde_json::Value = h
        .http
        .get(format!("{}/openapi.json", h.running.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut published: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    // Served beside the document, not in it.
    published.insert("GET /healthz".into());
    published.insert("GET /openapi.json".into());
    let documented = documented_routes();
    assert!(documented.len() > 10, "{documented:?}");
    let undocumented: Vec<_> = published.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&published).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/api.md: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "docs/api.md lists routes the server lacks: {stale:?}"
    );
}

#[test]
fn the_docs_link_only_to_files_in_the_repository() {
    let mut pages = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path.strip_prefix(root()).unwrap().to_path_buf());
        }
    }
    for page in pages {
        let text = read(page.to_str().unwrap());
        assert!(
            !text.contains("../shared/"),
            "{} points outside the repo",
            page.display()
        );
        let dir = root().join(page.parent().unwrap());
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            assert!(
                dir.join(target).exists(),
                "{} links to {target}, which does not exist",
                page.display()
            );
        }
    }
}
