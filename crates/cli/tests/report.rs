//! `irqlab report` as a user meets it: the page it writes from real run and
//! experiment results, its errors, and the page opened in a real browser.
//!
//! The browser test renders a report, opens it with headless Chromium, and
//! checks that it loads without console messages, that the browser's DOM
//! has every plot with drawn shapes and nothing fetched from elsewhere,
//! and that every plot, rendered alone, puts its colours on the screen.
//! Screenshots are kept under `target/report-test/`. Without Chromium
//! (`chromium`, `chromium-browser`, or `IRQLAB_CHROMIUM=PATH`) the test
//! says so on standard error and passes, unless `IRQLAB_REQUIRE_BROWSER=1`
//! (set by `.ci/run`), which makes a missing browser a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn irqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irqlab")).args(args).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
}

/// A directory of this test's own under the target directory, deleted
/// when the test ends.
fn dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("irqlab-report-{name}-")).tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Real results: two runs of the default scenario that differ (4 queues,
/// 1 queue) and a quick experiment, in a directory of their own (deleted
/// with the value).
struct Results {
    _dir: tempfile::TempDir,
    base: PathBuf,
    one_queue: PathBuf,
    experiment: PathBuf,
    /// A sweep's output directory: 2 queue counts × 2 rates.
    sweep: PathBuf,
}

fn results() -> Results {
    let d = dir("results");
    let base = d.path().join("base.json");
    let one_queue = d.path().join("one-queue.json");
    let experiment = d.path().join("affinity.json");
    ok(&irqlab(&["run", "--duration", "10ms", "--json", base.to_str().unwrap()]));
    ok(&irqlab(&["run", "--duration", "10ms", "--set", "nic.queues=1", "--json", one_queue.to_str().unwrap()]));
    ok(&irqlab(&["experiment", "run", "affinity-locality", "--quick", "--json", experiment.to_str().unwrap()]));
    let file = d.path().join("sweep.toml");
    std::fs::write(
        &file,
        "scenario = \"default\"\nduration = \"5ms\"\n[[axis]]\nkey = \"nic.queues\"\nvalues = [1, 4]\n\
         [[axis]]\nkey = \"workload.rate_pps\"\nvalues = [500000, 1000000]\n",
    )
    .unwrap();
    let sweep = d.path().join("sw");
    ok(&irqlab(&["sweep", file.to_str().unwrap(), "-o", sweep.to_str().unwrap()]));
    Results { _dir: d, base, one_queue, experiment, sweep }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The plots a report of the two runs, the experiment and the sweep has.
const PLOTS: [&str; 9] = [
    "latency-cdf",
    "cpu-time",
    "per-packet",
    "experiment-affinity-variants",
    "experiment-affinity-latency-cdf",
    "experiment-affinity-per-packet",
    "sweep-sw-throughput",
    "sweep-sw-latency",
    "sweep-sw-interrupts",
];

#[test]
fn a_report_of_runs_and_an_experiment_has_every_plot_and_is_deterministic() {
    let r = results();
    let tmp = dir("page");
    let d = tmp.path();
    let (a, b) = (d.join("a.html"), d.join("b.html"));
    let svgs = d.join("svg");
    let o =
        irqlab(&["report", s(&r.base), s(&r.one_queue), s(&r.experiment), s(&r.sweep), "-o", s(&a), "--svg", s(&svgs)]);
    ok(&o);
    ok(&irqlab(&["report", s(&r.base), s(&r.one_queue), s(&r.experiment), s(&r.sweep), "-o", s(&b)]));
    let page = std::fs::read_to_string(&a).unwrap();
    assert_eq!(page, std::fs::read_to_string(&b).unwrap(), "the same files give the same page");
    for name in PLOTS {
        assert!(page.contains(&format!("<figure class=\"plot\" id=\"{name}\">")), "page has {name}");
        let svg = std::fs::read_to_string(svgs.join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && page.contains(&svg), "{name}.svg is the plot on the page");
    }
    assert_eq!(page.matches("<svg").count(), PLOTS.len());
    // Each file is a series; the experiment's findings are beside its plots.
    for label in ["base", "one-queue", "affinity-locality"] {
        assert!(page.contains(label), "page names {label}");
    }
    // The sweep's points, its rates across the plots.
    let sweep = &page[page.find("<h2>Sweep sw</h2>").expect("a sweep section")..];
    assert!(sweep.contains("4 runs, 4 points over nic.queues × workload.rate_pps"), "{sweep}");
    assert!(sweep.contains("the plots put workload.rate_pps across"), "{sweep}");
    assert!(sweep.contains("<td class=\"name\">1,000,000</td>"), "{sweep}");
    // The runs' table says what was set differently: the one setting.
    let runs = &page[page.find("<h2>Runs compared</h2>").unwrap()..page.find("<h2>Experiment").unwrap()];
    assert!(runs.contains("<td class=\"params\">nic.queues = 4</td>"), "{runs}");
    assert!(runs.contains("<td class=\"params\">nic.queues = 1</td>"), "{runs}");
    assert_eq!(runs.matches(" = ").count(), 2, "{runs}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&r.experiment).unwrap()).unwrap();
    for f in report["findings"].as_array().unwrap() {
        let claim = f["claim"].as_str().unwrap();
        let escaped = claim
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;");
        assert!(page.contains(&escaped), "finding on the page: {claim}");
    }
    let out = text(&o.stdout);
    assert!(out.starts_with(&format!("wrote {}\n", a.display())), "{out}");
    assert_eq!(out.lines().count(), 1 + PLOTS.len(), "{out}");
}

#[test]
fn bad_inputs_are_named_with_exit_2_or_3() {
    let tmp = dir("bad");
    let d = tmp.path();
    let out = d.join("r.html");
    let missing = d.join("missing.json");
    let o = irqlab(&["report", s(&missing), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&format!("error: cannot read {}", missing.display())), "{}", text(&o.stderr));

    let cases = [
        ("not-json.json", "{\"schema_version\": 1,", "not JSON: "),
        ("list.json", "[1, 2, 3]", "not an irqlab document"),
        (
            "counters.json",
            "{\"schema_version\": 1, \"scenario\": \"counters of eth0\", \"interrupts\": {\"total\": 3}}",
            "a machine's counters",
        ),
        ("bad-key.json", "{\"schema_version\": 1, \"latency_ns\": {}, \"cpu\": []}", "key "),
    ];
    for (name, body, expected) in cases {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        let o = irqlab(&["report", s(&p), "-o", s(&out)]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with(&format!("error: {}: ", p.display())) && err.contains(expected), "{name}: {err}");
    }
    assert!(!out.exists(), "no page is written from bad input");

    // A key of the wrong type is named.
    let r = results();
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&r.base).unwrap()).unwrap();
    m["cpu"][1]["busy_frac"]["softirq"] = serde_json::json!("high");
    let p = d.join("wrong-type.json");
    std::fs::write(&p, m.to_string()).unwrap();
    let o = irqlab(&["report", s(&p), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("key cpu[1].busy_frac.softirq: invalid type"), "{}", text(&o.stderr));

    // Nothing to write, or nothing to read: usage errors.
    assert_eq!(irqlab(&["report", s(&r.base)]).status.code(), Some(2));
    assert_eq!(irqlab(&["report", "-o", s(&out)]).status.code(), Some(2));
    // An output that cannot be written is I/O.
    let o = irqlab(&["report", s(&r.base), "-o", s(&d.join("no/such/dir/r.html"))]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
}

// ---------------------------------------------------------------- browser

/// The Chromium to use, or why there is none.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IRQLAB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for d in std::env::split_paths(&path) {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs headless Chromium on `url` with `args`, without network: any
/// request that leaves the machine fails.
fn browse(chrome: &Path, url: &str, args: &[&str]) -> Output {
    let profile = dir("chromium-profile");
    Command::new(chrome)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .args(["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs")
}

/// The console messages in Chromium's log (`INFO:CONSOLE`: errors, warnings, logs).
fn console_lines(o: &Output) -> Vec<String> {
    text(&o.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect()
}

/// An RGB image read from a PNG.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

fn read_png(path: &Path) -> Image {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    let rgb = buf[..info.buffer_size()].chunks(step).map(|p| [p[0], p[1], p[2]]).collect();
    Image { width: info.width as usize, height: info.height as usize, rgb }
}

impl Image {
    /// Pixels within 6 per channel of `c`.
    fn count(&self, c: [u8; 3]) -> usize {
        self.rgb.iter().filter(|p| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 6)).count()
    }
    /// The share of pixels that are not the background `bg`.
    fn drawn_share(&self, bg: [u8; 3]) -> f64 {
        (self.rgb.len() - self.count(bg)) as f64 / self.rgb.len() as f64
    }
}

const WHITE: [u8; 3] = [255, 255, 255];
const SERIES0: [u8; 3] = [31, 119, 180];
const SERIES1: [u8; 3] = [255, 127, 14];
const HARDIRQ: [u8; 3] = [214, 39, 40];

/// The `width` and `height` attributes of an SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[start..].split('"').next().unwrap().parse().unwrap()
    };
    (attr("width"), attr("height"))
}

#[test]
fn browser_renders_the_report_with_every_plot_drawn() {
    let Some(chrome) = chromium() else {
        let required = std::env::var("IRQLAB_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "IRQLAB_REQUIRE_BROWSER=1 but no Chromium: install it (apt-get install chromium) or set IRQLAB_CHROMIUM"
        );
        eprintln!(
            "\n*** SKIPPED: no Chromium found (chromium, chromium-browser, IRQLAB_CHROMIUM): the report was NOT checked in a browser ***\n"
        );
        return;
    };
    let r = results();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target directory").join("report-test");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let page = out.join("report.html");
    let svgs = out.join("svg");
    ok(&irqlab(&[
        "report",
        s(&r.base),
        s(&r.one_queue),
        s(&r.experiment),
        s(&r.sweep),
        "-o",
        s(&page),
        "--svg",
        s(&svgs),
    ]));
    let url = format!("file://{}", page.display());

    // The DOM as the browser built it: every plot, each with drawn shapes,
    // and nothing loaded from anywhere.
    let o = browse(&chrome, &url, &["--dump-dom"]);
    ok(&o);
    assert_eq!(console_lines(&o), Vec::<String>::new(), "console messages while loading the page");
    let dom = text(&o.stdout);
    std::fs::write(out.join("dom.html"), &dom).unwrap();
    for reference in ["<script", "<link", "<iframe", "<img", " src=", " href=", "url("] {
        assert!(!dom.contains(reference), "the page refers to something outside it: {reference}");
    }
    for name in PLOTS {
        let at = dom.find(&format!("id=\"{name}\"")).unwrap_or_else(|| panic!("the DOM has no plot {name}"));
        let figure = &dom[at..at + dom[at..].find("</figure>").expect("figure closes")];
        let svg = &figure[figure.find("<svg").unwrap_or_else(|| panic!("plot {name} has no <svg>"))..];
        let shapes = ["<rect", "<polyline", "<circle", "<line", "<path", "<polygon"]
            .iter()
            .map(|t| svg.matches(t).count())
            .sum::<usize>();
        assert!(shapes >= 10, "plot {name} has {shapes} drawn shapes");
        assert!(svg.matches("<text").count() >= 5, "plot {name} has no labels");
    }

    // The page as the browser paints it: kept as an artefact.
    let shot = out.join("report.png");
    let o = browse(&chrome, &url, &[&format!("--screenshot={}", shot.display()), "--window-size=1400,2400"]);
    ok(&o);
    assert_eq!(console_lines(&o), Vec::<String>::new());
    let image = read_png(&shot);
    assert_eq!((image.width, image.height), (1400, 2400));
    assert!(image.drawn_share([246, 247, 249]) > 0.3, "the page is mostly background");
    for (what, colour) in [("first series", SERIES0), ("second series", SERIES1), ("hard IRQ time", HARDIRQ)] {
        assert!(image.count(colour) > 500, "the page shows too little of the {what}'s colour");
    }

    // Each plot alone, at its own size: it paints its series' colours.
    for name in PLOTS {
        let file = svgs.join(format!("{name}.svg"));
        let (w, h) = svg_size(&std::fs::read_to_string(&file).unwrap());
        let png = out.join(format!("{name}.png"));
        let o = browse(
            &chrome,
            &format!("file://{}", file.display()),
            &[&format!("--screenshot={}", png.display()), &format!("--window-size={w},{h}")],
        );
        ok(&o);
        let image = read_png(&png);
        let share = image.drawn_share(WHITE);
        assert!(share > 0.02, "plot {name}: only {:.2}% of its pixels are drawn", share * 100.0);
        assert!(image.count(SERIES0) > 50, "plot {name} does not show its first series");
        if name == "latency-cdf" || name == "per-packet" {
            assert!(image.count(SERIES1) > 50, "plot {name} does not show the second file");
        }
        if name == "cpu-time" {
            assert!(image.count(HARDIRQ) > 200, "plot {name} shows no hard-IRQ time");
        }
    }
    eprintln!("report, DOM and screenshots in {}", out.display());
}
