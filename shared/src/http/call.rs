//! One request being answered: the app, the request, its route and the `now` it is decided at,
//! with the readers every handler uses, so a handler is its domain call and its view.

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::de::DeserializeOwned;

use super::App;
use super::extract::{self, FromParam, missing};
use super::identity;
use crate::domain::UserId;
use crate::error::Error;
use crate::route::Route;

pub struct Call<'a> {
    pub app: &'a App,
    pub request: &'a Request,
    pub route: Route,
    /// The one `now` of this request: every rule it checks is checked at this instant.
    pub now: DateTime<Utc>,
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

    /// The player calling (see [`identity::caller`]).
    pub fn caller(&self, claimed: Option<UserId>) -> Result<Option<UserId>, Error> {
        identity::caller(self.request, claimed)
    }

    /// The operator calling, or 401/403 (see [`identity::operator`]).
    pub fn operator(&self) -> Result<String, Error> {
        identity::operator(self.request, &self.app.operators)
    }
}
