//! The OpenAPI 3 document, generated from the handlers' annotations and the protocol types,
//! served at `/api/openapi.json`.

use axum::response::IntoResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, RefOr, ResponseBuilder,
        path::{Operation, ParameterIn, PathItem},
        schema::{AdditionalProperties, Schema},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::api::{
    account, accounts, admin, calls, conversations, invites, messages, ops, realtime, updates,
    uploads, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Natter",
        description = "REST API of the Natter server. The realtime WebSocket at /api/ws and its \
                       frames are described in docs/protocol.md."
    ),
    paths(
        accounts::signup, accounts::login, accounts::logout, accounts::list_sessions,
        accounts::revoke_session, accounts::revoke_all_sessions, accounts::server_info,
        accounts::reset_password,
        account::account, account::change_password, account::totp_setup, account::totp_confirm,
        account::totp_disable, account::delete_account, account::export, account::blocked,
        account::block, account::unblock,
        invites::create, invites::mine, invites::revoke, invites::link_page,
        admin::users, admin::user, admin::update_user, admin::delete_user, admin::reset_password,
        admin::reset_two_factor,
        admin::all_invites, admin::stats, admin::audit_log, admin::report_list,
        admin::resolve_report,
        users::me, users::update_me, users::put_avatar, users::delete_avatar, users::get_user,
        users::get_avatar, users::directory,
        conversations::list, conversations::create, conversations::get, conversations::rename,
        conversations::add_members, conversations::remove_member, conversations::mute,
        conversations::unmute,
        messages::send, messages::history, messages::get_one, messages::edit, messages::delete,
        messages::react, messages::unreact, messages::mark_read,
        messages::typing, messages::search, messages::report,
        calls::list, calls::ice_servers,
        uploads::options, uploads::create, uploads::head, uploads::patch, uploads::terminate,
        uploads::download, uploads::thumbnail,
        realtime::upgrade,
        ops::healthz, ops::readyz, ops::metrics, ops::stats,
        updates::check, updates::file,
    ),
    modifiers(&BearerAuth, &CommonErrors, &StrictRequestBodies)
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

/// Adds to every operation the errors it can answer because of its shape (docs/protocol.md
/// §1.4), so that the handlers' annotations list only the errors of their own rules: 401 where a
/// token is required; 400 where a path or query parameter or a body can be malformed; 413 and
/// 415 where there is a JSON body; 503 where the database is reached (every authenticated route
/// and every route with a body; others list it themselves); 500 everywhere, since a panic is
/// answered as a JSON error too. An answer an annotation already lists is kept as it is.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            // Admin routes answer `not_found`, never `unauthorized`, to anyone else.
            let admin_only = path.starts_with("/api/admin/");
            for operation in operations(item) {
                add_common_errors(operation, admin_only);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.patch,
        &mut item.delete,
        &mut item.head,
        &mut item.options,
    ]
    .into_iter()
    .flatten()
}

fn add_common_errors(operation: &mut Operation, admin_only: bool) {
    let authenticated = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let has_parameters = operation.parameters.iter().flatten().any(|parameter| {
        matches!(
            parameter.parameter_in,
            ParameterIn::Path | ParameterIn::Query
        )
    });
    let body_types: Vec<String> = operation
        .request_body
        .iter()
        .flat_map(|body| body.content.keys().cloned())
        .collect();
    let has_body = !body_types.is_empty();
    let json_body = body_types
        .iter()
        .any(|content_type| content_type == "application/json");

    let mut bad_request = Vec::new();
    if has_parameters {
        bad_request.push("invalid_parameter: a path or query parameter is malformed");
    }
    if json_body {
        bad_request.push(
            "invalid_json: the body is not JSON, not of the expected shape, or has a field \
             the server does not know",
        );
    } else if has_body {
        bad_request.push("invalid_json: the body could not be read");
    }

    let mut common = Vec::new();
    if !bad_request.is_empty() {
        common.push(("400", bad_request.join("; ")));
    }
    if authenticated && !admin_only {
        common.push((
            "401",
            "unauthorized: no token, or an unknown or revoked one".to_owned(),
        ));
    }
    if json_body {
        common.push((
            "413",
            "payload_too_large: the body is over 64 KiB".to_owned(),
        ));
        common.push((
            "415",
            "unsupported_media_type: the body is not sent as `Content-Type: application/json`"
                .to_owned(),
        ));
    }
    common.push((
        "500",
        "internal: a fault on the server; the request may be retried".to_owned(),
    ));
    if authenticated || has_body {
        common.push((
            "503",
            "unavailable: the database cannot be reached right now; retry with backoff".to_owned(),
        ));
    }

    for (status, description) in common {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
}

/// Marks every JSON request body as closed to unknown fields (`additionalProperties: false`),
/// as the server refuses them (docs/protocol.md §1.3, `deny_unknown_fields` on every request
/// type). utoipa derives this from `deny_unknown_fields` on a struct but not on the variants of
/// a tagged enum such as `CreateConversationRequest`, so the rule is applied here, to the body
/// and to each of its alternatives.
struct StrictRequestBodies;

impl Modify for StrictRequestBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut bodies: Vec<String> = Vec::new();
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                let schema = operation
                    .request_body
                    .as_ref()
                    .and_then(|body| body.content.get("application/json"))
                    .and_then(|content| content.schema.as_ref());
                if let Some(RefOr::Ref(reference)) = schema {
                    bodies.extend(schema_name(reference));
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        while let Some(name) = bodies.pop() {
            match components.schemas.get_mut(&name) {
                Some(RefOr::T(Schema::Object(object))) => close(object),
                Some(RefOr::T(Schema::OneOf(one_of))) => {
                    for alternative in &mut one_of.items {
                        match alternative {
                            RefOr::T(Schema::Object(object)) => close(object),
                            RefOr::Ref(reference) => bodies.extend(schema_name(reference)),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn close(object: &mut utoipa::openapi::schema::Object) {
    object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
}

fn schema_name(reference: &Ref) -> Option<String> {
    reference
        .ref_location
        .strip_prefix("#/components/schemas/")
        .map(str::to_owned)
}

pub async fn document() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
