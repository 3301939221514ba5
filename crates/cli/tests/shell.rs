//! The command line people expect around the model: shell completions and
//! manual pages generated from the real options, and the built-in
//! scenarios' sources to start a file from.

use std::process::{Command, Output};

fn irqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irqlab")).args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The subcommands, as `irqlab --help` lists them (so a new one is
/// covered without editing this test).
fn subcommands() -> Vec<String> {
    let help = stdout(&irqlab(&["--help"]));
    let section = help.split("Commands:").nth(1).expect("a Commands: section");
    let names: Vec<String> = section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Help wrapped to the terminal continues a description on lines
        // indented further: a name starts after exactly two spaces.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 15 && names.iter().any(|n| n == "manpage"), "{names:?}");
    names
}

#[test]
fn the_bash_completion_offers_every_subcommand() {
    let o = irqlab(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    let script = stdout(&o);
    assert!(script.contains("complete -F _irqlab"), "not a bash completion script");
    // The top-level word list bash completes from.
    let words = script.lines().find(|l| l.contains("opts=\"") && l.contains("run")).expect("a list of words");
    for name in subcommands() {
        assert!(words.split(['"', ' ']).any(|w| w == name), "{name} missing from: {words}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = irqlab(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(stdout(&o).contains("experiment"), "{shell}");
    }
    assert_eq!(irqlab(&["completions", "tcsh"]).status.code(), Some(2));
}

/// Requests roff understands that clap_mangen writes; anything else at the
/// start of a line would be an unknown request.
const ROFF_REQUESTS: [&str; 17] =
    ["TH", "SH", "SS", "PP", "TP", "IP", "RS", "RE", "B", "I", "BR", "ie", "el", "ds", "br", "nf", "fi"];

#[test]
fn the_manual_page_is_roff_naming_every_subcommand() {
    let o = irqlab(&["manpage"]);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.lines().any(|l| l.starts_with(".TH irqlab 1")), "no title line:\n{page}");
    for line in page.lines().filter(|l| l.starts_with('.') && !l.starts_with(".\\\"")) {
        let request = line[1..].split_whitespace().next().unwrap_or("");
        assert!(ROFF_REQUESTS.contains(&request), "unknown roff request: {line}");
    }
    for name in subcommands() {
        // clap_mangen's SUBCOMMANDS section points at each command's own page.
        assert!(page.contains(&format!("irqlab\\-{name}(1)")), "{name} missing from the page");
    }
    // groff itself, where installed, must read it without a warning.
    match Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).stdin(std::process::Stdio::piped()).spawn() {
        Ok(mut child) => {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&out.stderr));
        }
        Err(_) => eprintln!("groff not installed: checked the requests only"),
    }
}

#[test]
fn manpage_out_writes_one_page_per_subcommand() {
    // A directory the command makes itself, inside one deleted when the test ends.
    let tmp = tempfile::Builder::new().prefix("irqlab-man-test-").tempdir().unwrap();
    let dir = tmp.path().join("man");
    let o = irqlab(&["manpage", "-o", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("irqlab.1").is_file());
    for name in subcommands() {
        let page = std::fs::read_to_string(dir.join(format!("irqlab-{name}.1"))).expect("a page per subcommand");
        assert!(page.starts_with(".ie") && page.contains(".TH"), "{name}: not roff");
    }
}

#[test]
fn a_shown_builtin_loads_back_to_the_same_scenario() {
    for name in ["default", "overload", "vm-assigned"] {
        let o = irqlab(&["scenarios", "--show", name]);
        assert_eq!(o.status.code(), Some(0));
        let text = stdout(&o);
        assert!(text.starts_with('#'), "{name}: the commented source, not a re-serialisation");
        let shown = irqlab_scenario::load_str(&text, "shown.toml", &[]).expect("the shown text loads");
        let builtin = irqlab_scenario::builtin(name).unwrap().load(&[]).unwrap();
        assert_eq!(format!("{shown:?}"), format!("{builtin:?}"), "{name}");
    }
}

#[test]
fn showing_an_unknown_scenario_lists_the_known_ones() {
    let o = irqlab(&["scenarios", "--show", "overlaod"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("did you mean `overload`?"), "{err}");
    for b in irqlab_scenario::builtins() {
        assert!(err.contains(b.name), "{} missing from: {err}", b.name);
    }
    assert!(o.stdout.is_empty());
}

#[test]
fn experiment_formats_csv_json_and_a_wrapped_table() {
    let csv = irqlab(&["experiment", "run", "notify", "--quick", "--format", "csv"]);
    assert_eq!(csv.status.code(), Some(0), "{}", String::from_utf8_lossy(&csv.stderr));
    let json = irqlab(&["experiment", "run", "notify", "--quick", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    // --format json is --json -, byte for byte.
    assert_eq!(json.stdout, irqlab(&["experiment", "run", "notify", "--quick", "--json", "-"]).stdout);
    let variants = report["variants"].as_array().unwrap();
    let mut reader = csv::Reader::from_reader(csv.stdout.as_slice());
    let header = reader.headers().expect("a header row").clone();
    assert_eq!(&header[0], "variant");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV record")).collect();
    assert_eq!(records.len(), variants.len());
    for (record, v) in records.iter().zip(variants) {
        assert_eq!(&record[0], v["name"].as_str().unwrap());
        assert_eq!(record.len(), header.len());
        assert!(!record.iter().any(|cell| cell.contains(",")), "CSV cells carry no digit grouping: {record:?}");
    }
    // Off a terminal the findings wrap at 100 columns, under their claim.
    let table = stdout(&irqlab(&["experiment", "run", "notify", "--quick"]));
    let findings = table.split("findings:\n").nth(1).expect("findings");
    assert!(findings.lines().all(|l| l.chars().count() <= 100), "{findings}");
    assert!(findings.lines().all(|l| l.starts_with("  [") || l.starts_with("          ")), "{findings}");
    let o = irqlab(&["experiment", "run", "notify", "--quick", "--json", "-", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    let o = irqlab(&["experiment", "run", "notfy"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `notify`?"));
}
