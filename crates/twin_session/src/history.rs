//! Undo and redo of snapshots of some state (the session keeps the twin
//! document and, in the app, the segment list in one).

/// Undo and redo lists of labelled snapshots.
#[derive(Debug, Clone)]
pub struct History<T> {
    undo: Vec<(String, T)>,
    redo: Vec<(String, T)>,
    limit: usize,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self {
            undo: Vec::new(),
            redo: Vec::new(),
            limit: 100,
        }
    }
}

impl<T> History<T> {
    /// Records the state `before` an edit called `label`; the redo list ends.
    pub fn record(&mut self, label: &str, before: T) {
        self.undo.push((label.to_owned(), before));
        if self.undo.len() > self.limit {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// Undoes the last edit: `current` becomes the state before it. Returns
    /// the edit's label.
    pub fn undo(&mut self, current: &mut T) -> Option<String> {
        let (label, before) = self.undo.pop()?;
        let after = std::mem::replace(current, before);
        self.redo.push((label.clone(), after));
        Some(label)
    }

    /// Redoes the last undone edit.
    pub fn redo(&mut self, current: &mut T) -> Option<String> {
        let (label, after) = self.redo.pop()?;
        let before = std::mem::replace(current, after);
        self.undo.push((label.clone(), before));
        Some(label)
    }

    /// What Undo would undo.
    #[must_use]
    pub fn undo_label(&self) -> Option<&str> {
        self.undo.last().map(|(l, _)| l.as_str())
    }

    /// What Redo would redo.
    #[must_use]
    pub fn redo_label(&self) -> Option<&str> {
        self.redo.last().map(|(l, _)| l.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_edit_drops_out_past_the_limit() {
        let mut h: History<u32> = History::default();
        let mut now = 0;
        for i in 0..150 {
            h.record(&format!("edit {i}"), now);
            now = i + 1;
        }
        let mut undone = 0;
        while h.undo(&mut now).is_some() {
            undone += 1;
        }
        assert_eq!(undone, 100);
        // The 50 oldest are gone: undo stops at the state before edit 50.
        assert_eq!(now, 50);
        assert_eq!(h.redo(&mut now).as_deref(), Some("edit 50"));
        assert_eq!(now, 51);
    }
}
