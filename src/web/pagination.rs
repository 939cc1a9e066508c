//! Page numbers for long lists: "Page 2 of 7" with previous / next links.

pub struct Pagination {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// The list's URL with its filters (from `Url::with_query`), to which `page=N` is added.
    list: String,
}

impl Pagination {
    pub fn new(page: i64, per_page: i64, total: i64, list: String) -> Self {
        let pages = ((total + per_page - 1) / per_page).max(1);
        Self {
            page: page.min(pages).max(1),
            pages,
            total,
            list,
        }
    }

    pub fn prev_url(&self) -> Option<String> {
        (self.page > 1).then(|| self.url_of(self.page - 1))
    }

    pub fn next_url(&self) -> Option<String> {
        (self.page < self.pages).then(|| self.url_of(self.page + 1))
    }

    fn url_of(&self, page: i64) -> String {
        let joint = if self.list.contains('?') { '&' } else { '?' };
        format!("{}{joint}page={page}", self.list)
    }
}
