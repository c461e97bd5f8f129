//! The OpenAPI 3 document, generated from the handlers' annotations and the protocol types,
//! served at `/api/openapi.json`.

use axum::response::IntoResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::api::{accounts, calls, conversations, messages, ops, realtime, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Natter",
        description = "REST API of the Natter server. The realtime WebSocket at /api/ws and its \
                       frames are described in docs/protocol.md."
    ),
    paths(
        accounts::signup, accounts::login, accounts::logout, accounts::list_sessions,
        accounts::revoke_session, accounts::revoke_all_sessions,
        users::me, users::update_me, users::put_avatar, users::delete_avatar, users::get_user,
        users::get_avatar, users::directory,
        conversations::list, conversations::create, conversations::get, conversations::rename,
        conversations::add_members, conversations::remove_member,
        messages::send, messages::history, messages::edit, messages::delete, messages::mark_read,
        messages::typing, messages::search,
        calls::list, calls::ice_servers,
        realtime::upgrade,
        ops::healthz, ops::readyz, ops::metrics, ops::stats,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The session token from sign-up or log-in"))
                    .build(),
            ),
        );
    }
}

pub async fn document() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
