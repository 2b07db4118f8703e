//! The Well-Architected review as people read it: at a terminal (each item ticked or
//! not, its note, what would meet it, its evidence), and as Markdown for the
//! pipeline's summary (a table per question, the evidence folded beneath it).

use crate::release::short_commit;
use crate::review::{Item, Review};

fn tick(item: &Item) -> &'static str {
    if item.ticked {
        "[x]"
    } else {
        "[ ]"
    }
}

/// The review for a terminal.
pub fn text(review: &Review) -> String {
    let (ticked, total) = review.score();
    let mut out = format!(
        "{} - {} (account {}, commit {}): {ticked} of {total} practices met\n",
        review.lens,
        review.environment,
        review.account_id,
        short_commit(&review.git_commit)
    );
    for q in &review.questions {
        out.push_str(&format!("\n{}  {}\n", q.id, q.title));
        for item in &q.items {
            out.push_str(&format!("  {} {:<8}  {}\n", tick(item), item.level.as_str(), item.practice));
            out.push_str(&format!("        {}\n", item.note));
            if let Some(meet) = &item.to_meet {
                out.push_str(&format!("        to meet it: {meet}\n"));
            }
            for e in &item.evidence {
                out.push_str(&format!("        {:<11}  {}: {}\n", e.source.as_str(), e.subject, e.detail));
            }
        }
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// The review as Markdown: what `review --markdown FILE` writes and the GitHub step
/// summary shows.
pub fn markdown(review: &Review) -> String {
    let (ticked, total) = review.score();
    let mut out = format!(
        "## Well-Architected review: {} (account {})\n\n{}, read from the environment and the repository at commit `{}`. **{ticked} of {total}** practices met.\n",
        review.environment,
        review.account_id,
        review.lens,
        short_commit(&review.git_commit)
    );
    let unmet = review.unmet_required();
    if !unmet.is_empty() {
        out.push_str(&format!("\n**Required and not met:** {}.\n", cell(&unmet.join("; "))));
    }
    for q in &review.questions {
        out.push_str(&format!("\n### {}: {}\n\n| | Level | Practice | Note |\n|---|---|---|---|\n", q.id, q.title));
        for item in &q.items {
            let note = match &item.to_meet {
                Some(meet) => format!("{} **To meet it:** {meet}", item.note),
                None => item.note.clone(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                if item.ticked { "✅" } else { "⬜" },
                item.level.as_str(),
                cell(item.practice),
                cell(&note)
            ));
        }
        out.push_str("\n<details><summary>Evidence</summary>\n\n");
        for item in &q.items {
            for e in &item.evidence {
                out.push_str(&format!(
                    "- {} ({}): {} `{}`: {}\n",
                    item.practice,
                    item.level.as_str(),
                    e.source.as_str(),
                    e.subject.replace('`', "'"),
                    e.detail
                ));
            }
        }
        out.push_str("\n</details>\n");
    }
    out
}
