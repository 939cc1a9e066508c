//! Page numbers for long lists: "Page 2 of 7" with previous / next links.

pub struct Pagination {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// The list's URL up to and including `?` or `&`, ready for `page=N`.
    base: String,
}

impl Pagination {
    pub fn new(page: i64, per_page: i64, total: i64, base: String) -> Self {
        let pages = ((total + per_page - 1) / per_page).max(1);
        Self {
            page: page.min(pages).max(1),
            pages,
            total,
            base,
        }
    }

    pub fn prev_url(&self) -> Option<String> {
        (self.page > 1).then(|| format!("{}page={}", self.base, self.page - 1))
    }

    pub fn next_url(&self) -> Option<String> {
        (self.page < self.pages).then(|| format!("{}page={}", self.base, self.page + 1))
    }
}
