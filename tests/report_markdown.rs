//! Issue 21, item 7: `report --format markdown` puts entry values and the store's path into a
//! CI step summary, which renders HTML: none may reach it as markup.

mod common;

use ticketdiff::report::{build, markdown};

const NAME: &str = "rustls-new_session_ticket-ret-1-vs-0.tkt";

fn entry() -> String {
    common::saved_entry(NAME)
}

#[test]
fn markdown_escapes_html_and_backticks_in_every_value() {
    let hostile =
        "<script>alert(1)</script></details><img src=x onerror=alert(2)>`x`|y![a](http://e/)";
    let text = entry()
        .replace(
            "# backend version: rustls 0.23.46",
            &format!("# backend version: rustls {hostile}"),
        )
        .replace(
            "# found by: ticketdiff fuzz",
            &format!("# found by: {hostile}"),
        );
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("st`o<b>re\nnext line");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(NAME), text).unwrap();
    let md = markdown(&build(&dir, None, None).unwrap());
    for raw in ["<script", "<img", "</details><img", "`x`", "![a]", "<b>"] {
        assert!(!md.contains(raw), "`{raw}` reached the Markdown:\n{md}");
    }
    // The block's own tags only: one `<details>` and one `</details>`.
    assert_eq!(md.matches("</details>").count(), 1, "{md}");
    let heading = md.lines().next().unwrap();
    assert!(
        heading.ends_with("st&#96;o&lt;b&gt;re&#92;nnext line</code>"),
        "{heading}"
    );
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| <code>")).collect();
    assert_eq!(rows.len(), 1, "{md}");
    assert_eq!(rows[0].matches(" | ").count(), 5, "{}", rows[0]);
}
