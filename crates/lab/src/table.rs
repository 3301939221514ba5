//! A sweep's table: one row per run, as `runs.jsonl` and `runs.csv`.
//!
//! A row is, in order: `run` (its number), `axis.KEY` for each axis (the
//! value the run took), `seed`, then every scalar of the run's metrics
//! document flattened to a dotted path in the document's own key order
//! (`latency_ns.p99`; arrays by index, `cpu[2].busy_frac.user`,
//! `interrupts.per_core[0]`; a `null` section, such as `pcap` without a
//! capture, is one empty cell), and last, in `runs.jsonl` only, the
//! `resolved_scenario` object. Nothing is summarised: every per-core and
//! per-queue number has its column.
//!
//! The CSV's columns are the union of the rows' keys, each new key placed
//! right after the key that precedes it in the first row that has it (so
//! a run with 8 queues puts `queues[4]` after `queues[3]`); a row without a
//! column has an empty cell. The columns are a function of the rows in run
//! order, so a merge of shards, which reads the rows back from their
//! `runs.jsonl`, writes the same CSV.

use crate::node::Node;
use std::collections::BTreeMap;

/// The key of a row's resolved scenario (in `runs.jsonl`, not in the CSV).
pub const RESOLVED_SCENARIO: &str = irqlab_scenario::replay::RESOLVED_SCENARIO_KEY;

/// Prefix of an axis's column: `axis.nic.queues`.
pub const AXIS_PREFIX: &str = "axis.";

/// One run's row: its keys and values, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The run's number.
    pub run: usize,
    /// Key and value, `run` first.
    pub fields: Vec<(String, Node)>,
}

impl Row {
    /// The row of run `run`, whose axes took `axis_values`, from its
    /// metrics document (JSON text, as `irqlab run --json` writes it).
    pub fn of_metrics(run: usize, axes: &[String], axis_values: &[Node], metrics_json: &str) -> Result<Row, String> {
        let doc = Node::parse(metrics_json).map_err(|e| format!("metrics of run {run}: {e}"))?;
        let Node::Object(top) = doc else { return Err(format!("metrics of run {run}: not an object")) };
        let mut fields = vec![("run".to_string(), Node::Number(run.into()))];
        for (k, v) in axes.iter().zip(axis_values) {
            fields.push((format!("{AXIS_PREFIX}{k}"), v.clone()));
        }
        let seed = top.iter().find(|(k, _)| k == "seed").map_or(Node::Null, |(_, v)| v.clone());
        fields.push(("seed".to_string(), seed));
        let mut scenario = None;
        for (k, v) in top {
            match k.as_str() {
                "seed" => {}
                RESOLVED_SCENARIO => scenario = Some(v),
                _ => flatten(&v, &k, &mut fields),
            }
        }
        if let Some(s) = scenario {
            fields.push((RESOLVED_SCENARIO.to_string(), s));
        }
        Ok(Row { run, fields })
    }

    /// A line of `runs.jsonl`, read back.
    pub fn parse(line: &str) -> Result<Row, String> {
        let node = Node::parse(line).map_err(|e| format!("not JSON: {e}"))?;
        let run = node.get("run").and_then(Node::as_u64).ok_or("no run number")?;
        let Node::Object(fields) = node else { return Err("not a JSON object".into()) };
        Ok(Row { run: run as usize, fields })
    }

    /// The row as one line of `runs.jsonl` (without the newline).
    pub fn to_json_line(&self) -> String {
        Node::Object(self.fields.clone()).to_json()
    }
}

/// Puts every scalar of `v` under `path` into `out`, in order.
fn flatten(v: &Node, path: &str, out: &mut Vec<(String, Node)>) {
    match v {
        Node::Object(o) => {
            for (k, x) in o {
                flatten(x, &format!("{path}.{k}"), out);
            }
        }
        Node::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{path}[{i}]"), out);
            }
        }
        scalar => out.push((path.to_string(), scalar.clone())),
    }
}

/// The CSV's columns for rows in run order (see the module documentation).
pub fn columns(rows: &[Row]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    let mut pos: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        let mut prev: Option<usize> = None;
        for (k, _) in &r.fields {
            if k == RESOLVED_SCENARIO {
                continue;
            }
            match pos.get(k) {
                Some(&p) => prev = Some(p),
                None => {
                    let at = prev.map_or(0, |p| p + 1);
                    cols.insert(at, k.clone());
                    pos = cols.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();
                    prev = Some(at);
                }
            }
        }
    }
    cols
}

/// `runs.csv`: a header of [`columns`], then one line per row.
pub fn to_csv(rows: &[Row]) -> Result<Vec<u8>, String> {
    let cols = columns(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&cols).map_err(|e| e.to_string())?;
    for r in rows {
        let by_key: BTreeMap<&str, &Node> = r.fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
        w.write_record(cols.iter().map(|c| by_key.get(c.as_str()).map_or(String::new(), |v| v.cell())))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// `runs.jsonl`: one line per row.
pub fn to_jsonl(rows: &[Row]) -> Vec<u8> {
    let mut out = String::new();
    for r in rows {
        out.push_str(&r.to_json_line());
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: usize, json: &str) -> Row {
        Row::of_metrics(run, &["nic.queues".into()], &[Node::Number(4.into())], json).unwrap()
    }

    #[test]
    fn a_row_is_run_axes_seed_then_the_metrics_in_order() {
        let r = row(
            3,
            r#"{"schema_version":1,"seed":7,"b":{"z":1,"a":[2,{"q":null}]},"s":"x","resolved_scenario":{"seed":7}}"#,
        );
        let keys: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["run", "axis.nic.queues", "seed", "schema_version", "b.z", "b.a[0]", "b.a[1].q", "s", "resolved_scenario"]
        );
        assert_eq!(Row::parse(&r.to_json_line()).unwrap(), r);
        let csv = String::from_utf8(to_csv(std::slice::from_ref(&r)).unwrap()).unwrap();
        assert_eq!(csv, "run,axis.nic.queues,seed,schema_version,b.z,b.a[0],b.a[1].q,s\n3,4,7,1,1,2,,x\n");
    }

    #[test]
    fn new_columns_go_after_their_neighbour_and_missing_cells_are_empty() {
        let a = row(0, r#"{"seed":1,"q":[10,11],"t":5}"#);
        let b = row(1, r#"{"seed":1,"q":[20,21,22],"t":6,"u":"a,b"}"#);
        assert_eq!(
            columns(&[a.clone(), b.clone()]),
            ["run", "axis.nic.queues", "seed", "q[0]", "q[1]", "q[2]", "t", "u"]
        );
        let csv = String::from_utf8(to_csv(&[a, b]).unwrap()).unwrap();
        assert_eq!(csv.lines().nth(1), Some("0,4,1,10,11,,5,"));
        assert_eq!(csv.lines().nth(2), Some("1,4,1,20,21,22,6,\"a,b\""));
    }
}
