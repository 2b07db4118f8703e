//! The review as data, in the shape of the team's checklist (Serverless Lens of the
//! Well-Architected Framework): questions, each with items at a level, ticked or not,
//! a one-line note, the evidence read, and for an unticked item what would meet it.
//! `report/` renders it as text, JSON and Markdown.

use serde::Serialize;

/// How far a practice goes, as the checklist ranks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    Required,
    Good,
    Best,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "Required",
            Self::Good => "Good",
            Self::Best => "Best",
        }
    }
}

/// Where a piece of evidence was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The environment's account, through the deploy role.
    Environment,
    /// A file of this repository.
    Repository,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::Repository => "repository",
        }
    }
}

/// One fact an item is judged on: what was read, where, and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub source: Source,
    /// The resource or file, for example `etl-prod-extract` or `deny.toml`.
    pub subject: String,
    pub detail: String,
}

impl Evidence {
    pub fn environment(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { source: Source::Environment, subject: subject.into(), detail: detail.into() }
    }

    pub fn repository(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { source: Source::Repository, subject: subject.into(), detail: detail.into() }
    }
}

/// One practice of a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// A stable key for machines, such as `ops2-rollout`.
    pub id: &'static str,
    pub level: Level,
    pub practice: &'static str,
    pub ticked: bool,
    /// One line: why it is ticked, or what is missing.
    pub note: String,
    pub evidence: Vec<Evidence>,
    /// For an unticked item: what would meet it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_meet: Option<String>,
}

/// One question of the checklist (OPS 1, REL 2, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    pub id: &'static str,
    pub title: &'static str,
    pub items: Vec<Item>,
}

/// The whole review of one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub lens: &'static str,
    pub environment: String,
    pub account_id: String,
    /// The repository's commit the repository's evidence was read at.
    pub git_commit: String,
    pub questions: Vec<Question>,
}

impl Review {
    pub fn items(&self) -> impl Iterator<Item = (&Question, &Item)> {
        self.questions.iter().flat_map(|q| q.items.iter().map(move |i| (q, i)))
    }

    /// (ticked, total).
    pub fn score(&self) -> (usize, usize) {
        (self.items().filter(|(_, i)| i.ticked).count(), self.items().count())
    }

    /// The Required practices not met, as `OPS 1: practice`.
    pub fn unmet_required(&self) -> Vec<String> {
        self.items()
            .filter(|(_, i)| i.level == Level::Required && !i.ticked)
            .map(|(q, i)| format!("{}: {}", q.id, i.practice))
            .collect()
    }

    /// An item by its id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().map(|(_, i)| i).find(|i| i.id == id)
    }
}
