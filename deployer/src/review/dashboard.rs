//! Reading a CloudWatch dashboard's body for what it shows: which widgets carry the
//! business metrics, the runs' outcome and duration, each function's per-version
//! errors and duration, and the current release. Each widget's properties are read
//! as text (metrics arrays, search expressions, Logs Insights queries alike).

use serde_json::Value;

/// One widget: its type, title and properties as text.
#[derive(Debug, Clone)]
pub struct Widget {
    pub kind: String,
    pub title: String,
    text: String,
}

impl Widget {
    /// Every needle appears in the widget.
    pub fn mentions(&self, needles: &[&str]) -> bool {
        needles.iter().all(|n| self.text.contains(n))
    }
}

/// The widgets of a dashboard body.
pub fn widgets(body: &str) -> Result<Vec<Widget>, String> {
    let doc: Value = serde_json::from_str(body).map_err(|e| format!("the dashboard body is not JSON: {e}"))?;
    let widgets = doc.get("widgets").and_then(Value::as_array).ok_or("the dashboard has no widgets")?;
    Ok(widgets
        .iter()
        .map(|w| {
            let properties = w.get("properties").cloned().unwrap_or(Value::Null);
            Widget {
                kind: w.get("type").and_then(Value::as_str).unwrap_or_default().to_owned(),
                title: properties.get("title").and_then(Value::as_str).unwrap_or_default().to_owned(),
                text: properties.to_string(),
            }
        })
        .collect())
}

/// The title of the first widget that mentions every needle (and is of `kind`, if given).
pub fn find<'a>(widgets: &'a [Widget], kind: Option<&str>, needles: &[&str]) -> Option<&'a Widget> {
    widgets.iter().find(|w| kind.is_none_or(|k| w.kind == k) && w.mentions(needles))
}

#[cfg(test)]
mod tests {
    #[test]
    fn widgets_are_found_by_what_they_mention() {
        let body = r#"{"widgets":[
            {"type":"metric","properties":{"title":"Records","metrics":[["ETL","RecordsOut","Function","load"]]}},
            {"type":"log","properties":{"title":"Releases","query":"SOURCE '/etl-dev/releases' | fields release_id"}}]}"#;
        let w = super::widgets(body).unwrap();
        assert_eq!(super::find(&w, None, &["\"ETL\"", "RecordsOut"]).map(|w| w.title.as_str()), Some("Records"));
        assert_eq!(super::find(&w, Some("log"), &["/etl-dev/releases"]).map(|w| w.kind.as_str()), Some("log"));
        assert!(super::find(&w, Some("metric"), &["/etl-dev/releases"]).is_none());
        assert!(super::widgets("[]").is_err());
    }
}
