//! The examples in docs/scenarios.md are real: the full example loads, and
//! the error examples are what the loader prints (rendered, with source
//! lines, carets and hints, as the command line shows them).

use irqlab_scenario::load_str;

const DOC: &str = include_str!("../../../docs/scenarios.md");

/// The fenced blocks of the given language (`""` for plain) after
/// `heading`, in order.
fn blocks_after(heading: &str, lang: &str) -> Vec<String> {
    let start = DOC.find(heading).unwrap_or_else(|| panic!("no heading {heading}"));
    let mut out = Vec::new();
    let mut current: Option<(bool, String)> = None; // (wanted, body)
    for line in DOC[start..].lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info == lang, String::new())),
            (Some(_), Some("")) => {
                let (wanted, body) = current.take().unwrap();
                if wanted {
                    out.push(body);
                }
            }
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn full_example_in_the_docs_loads_and_sets_what_its_comments_say() {
    let src = &blocks_after("## A full example", "toml")[0];
    let s = load_str(src, "docs/scenarios.md", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.machine.cores, s.machine.sockets, s.nic.queues), (8, 2, 8));
    assert_eq!(s.workload.flow_list.len(), 4);
    assert_eq!(s.apps.len(), 2);
    assert_eq!(s.costs.rx_protocol_per_packet_ns, 200.0);
}

#[test]
fn error_examples_in_the_docs_are_what_the_loader_prints() {
    let inputs = blocks_after("## Errors", "toml");
    let outputs = blocks_after("## Errors", "");
    // The first plain block is the FILE:LINE:COL format line.
    assert_eq!(inputs.len(), 2);
    assert_eq!(outputs.len(), 4);
    for (input, expected) in inputs.iter().zip(&outputs[1..3]) {
        let e = load_str(input, "my.toml", &[]).expect_err("the example must fail");
        assert_eq!(format!("{}\n", e.rendered()), *expected, "update docs/scenarios.md");
    }
    let e = load_str("", "my.toml", &["nic.queues=zero".to_string()]).expect_err("the example must fail");
    assert_eq!(format!("{}\n", e.rendered()), outputs[3], "update docs/scenarios.md");
}
