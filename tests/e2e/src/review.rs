//! Reading `deployer review`'s JSON report in the end-to-end tests: its items by id,
//! and each item's evidence as lines.

use anyhow::{Context, Result};
use serde_json::Value;

/// One item of the review, as the report has it.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub ticked: bool,
    pub note: String,
    /// `source subject: detail`, one a line.
    pub evidence: String,
}

/// The report's items, in the checklist's order.
pub fn items(report: &Value) -> Result<Vec<Item>> {
    let questions = report["review"]["questions"].as_array().context("the report has no review")?;
    Ok(questions
        .iter()
        .flat_map(|q| q["items"].as_array().cloned().unwrap_or_default())
        .map(|i| Item {
            id: i["id"].as_str().unwrap_or_default().to_owned(),
            ticked: i["ticked"].as_bool().unwrap_or(false),
            note: i["note"].as_str().unwrap_or_default().to_owned(),
            evidence: i["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    format!(
                        "{} {}: {}\n",
                        e["source"].as_str().unwrap_or_default(),
                        e["subject"].as_str().unwrap_or_default(),
                        e["detail"].as_str().unwrap_or_default()
                    )
                })
                .collect(),
        })
        .collect())
}

/// The item `id`.
pub fn item<'a>(items: &'a [Item], id: &str) -> Result<&'a Item> {
    items.iter().find(|i| i.id == id).with_context(|| format!("the review has no item {id}"))
}

/// The ids of the items not ticked.
pub fn unticked(items: &[Item]) -> Vec<&str> {
    items.iter().filter(|i| !i.ticked).map(|i| i.id.as_str()).collect()
}
