//! The artifact file server, at Flux's URL layout.
//!
//! `GET /<kind>/<namespace>/<name>/<file>` returns the stored tarball, as
//! `http.FileServer` does in Flux; `latest.tar.gz` resolves to the newest.
//! Paths that would leave the storage root are refused by `ServeDir`.

use std::path::Path;

use axum::Router;
use tower_http::services::ServeDir;

pub fn router(root: &Path) -> Router {
    Router::new().fallback_service(ServeDir::new(root).append_index_html_on_directories(false))
}
