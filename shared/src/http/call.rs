//! One request being answered: the app, the request, its route and the `now` it is decided at,
//! with the readers every handler uses, so a handler is its domain call and its view.

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::de::DeserializeOwned;

use super::App;
use super::extract::{self, FromParam, missing};
use super::identity::{self, Credential};
use crate::domain::UserId;
use crate::error::Error;
use crate::route::Route;

pub struct Call<'a> {
    pub app: &'a App,
    pub request: &'a Request,
    pub route: Route,
    /// The one `now` of this request: every rule it checks is checked at this instant.
    pub now: DateTime<Utc>,
    /// The request's credentials, settled before the handler ([`identity::credential`]).
    pub credential: Credential,
}

impl Call<'_> {
    /// A required path parameter, validated (422 when malformed or absent).
    pub fn path<T: FromParam>(&self, name: &str) -> Result<T, Error> {
        let value =
            extract::path_param(self.request, self.route, name).ok_or_else(|| missing(name))?;
        T::from_param(&value)
    }

    /// A query parameter, if sent.
    pub fn query(&self, name: &str) -> Option<&str> {
        extract::query(self.request, name)
    }

    /// An optional RFC 3339 time in a query parameter.
    pub fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, Error> {
        self.query(name)
            .map(|t| extract::time_param(name, t))
            .transpose()
    }

    /// The JSON body.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, Error> {
        extract::json_body(self.request)
    }

    /// The player calling, who must be known (see [`identity::player`]).
    pub fn player(&self, claimed: Option<UserId>) -> Result<UserId, Error> {
        identity::player(
            self.request,
            &self.credential,
            self.app.players.mode(),
            claimed,
        )
    }

    /// The player a listing is seen by, if any (see [`identity::viewer`]).
    pub fn viewer(&self, claimed: Option<UserId>) -> Result<Option<UserId>, Error> {
        identity::viewer(
            self.request,
            &self.credential,
            self.app.players.mode(),
            claimed,
        )
    }

    /// The operator calling, or 401/403 (see [`identity::operator`]).
    pub fn operator(&self) -> Result<String, Error> {
        identity::operator(self.request, &self.credential, &self.app.operators)
    }
}
