//! Weather in the desktop. Reports come from the links-side weather service (its own
//! `aviary-weather` thread, cached per site; never fetched on the UI thread) and are kept per
//! site in [`crate::gui::state::WeatherState`]. From them `logic` evaluates, with the same
//! [`aviary_core::weather::evaluate`] as `aviary weather`: the Plan view's verdict for its
//! site, drone model and window; each flying mission's verdict (a change raises an alert);
//! and the pre-flight check of a start. No data, a failed fetch or a stale report gives
//! "unknown", never "go".

use crate::gui::backend::{Backend, WeatherClient};
use crate::gui::settings::Settings;
use crate::gui::state::{AlertKind, AppState, ModelLimits};
use aviary_core::weather::{
    EvalConfig, Flight, WeatherLimits, WeatherReport, WeatherVerdict, evaluate,
};
use aviary_core::{DroneId, Mission, MissionStatus, SiteId};
use aviary_links::weather::{Provider, ServiceConfig, WeatherEvent, WeatherService};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A site's weather is asked for again after this long (the service answers from its cache
/// while the report is younger than its refresh age).
const ASK_EVERY_S: i64 = 60;
/// Most service events applied per frame.
const EVENTS_PER_FRAME: usize = 16;
/// The shortest window a verdict looks at.
const MIN_WINDOW_S: i64 = 600;
/// A flight's measured wind is stored this often while it flies (and when it ends).
const STORE_WIND_EVERY_S: i64 = 30;

/// One frame of weather: (re)start the service when the URL changed, apply its answers, ask
/// for the sites that need it, evaluate the Plan view and the flying missions.
pub(super) fn tick(state: &mut AppState, backend: &mut Backend, settings: &Settings) {
    ensure_service(state, backend, settings);
    drain(state, backend);
    let mut wanted: BTreeSet<SiteId> = state.plan.site.into_iter().collect();
    wanted.extend(
        state
            .missions
            .iter()
            .filter(|m| m.status.is_active())
            .map(|m| m.site_id),
    );
    // The mission selected in Monitor: its Start's pre-flight check needs the forecast.
    wanted.extend(
        state
            .selected_mission
            .and_then(|id| state.mission(id))
            .map(|m| m.site_id),
    );
    for site in wanted {
        ask(state, backend, site);
    }
    state.weather.plan = plan_verdict(state, backend);
    flying(state, backend);
    measure_wind(state, backend);
    load_limits(state, backend, false);
}

/// Takes each flying drone's own wind estimate once a second (where its autopilot sends
/// one) and stores the flight's summary every [`STORE_WIND_EVERY_S`] and when it ends.
fn measure_wind(state: &mut AppState, backend: &Backend) {
    let now = state.now;
    let active: Vec<(aviary_core::MissionId, DroneId)> = state
        .missions
        .iter()
        .filter(|m| matches!(m.status, MissionStatus::InProgress | MissionStatus::Paused))
        .filter_map(|m| m.drone_id.map(|d| (m.id, d)))
        .collect();
    for (mission, drone) in &active {
        let Some(wind) = backend
            .links
            .route(*drone)
            .ok()
            .and_then(|(h, v)| h.vehicle(v))
            .and_then(|v| v.wind)
        else {
            continue;
        };
        let f = state.weather.measured.entry(*mission).or_default();
        if f.sampled_at.is_some_and(|t| (now - t).num_seconds() < 1) {
            continue;
        }
        f.wind.add(wind.speed_mps, wind.from_deg, now);
        f.sampled_at = Some(now);
        if f.stored_at
            .is_none_or(|t| (now - t).num_seconds() >= STORE_WIND_EVERY_S)
            && let Some(m) = f.wind.result()
        {
            f.stored_at = Some(now);
            if let Err(e) = backend.store.put_measured_wind(*mission, &m) {
                state.notice(format!("measured wind not stored: {e}"), true);
            }
        }
    }
    let ended: Vec<aviary_core::MissionId> = state
        .weather
        .measured
        .keys()
        .filter(|id| !active.iter().any(|(m, _)| m == *id))
        .copied()
        .collect();
    for id in ended {
        if let Some(m) = state
            .weather
            .measured
            .remove(&id)
            .and_then(|f| f.wind.result())
            && let Err(e) = backend.store.put_measured_wind(id, &m)
        {
            state.notice(format!("measured wind not stored: {e}"), true);
        }
    }
}

fn ensure_service(state: &mut AppState, backend: &mut Backend, settings: &Settings) {
    let url = settings.weather_url.trim();
    let current = backend.weather.as_ref().map(|w| w.url.as_str());
    if current == Some(url) || (current.is_none() && url.is_empty()) {
        return;
    }
    backend.weather = None;
    for w in state.weather.sites.values_mut() {
        w.requested_at = None;
    }
    if url.is_empty() {
        return;
    }
    let config = ServiceConfig {
        provider: Provider::OpenMeteo {
            url: url.to_owned(),
        },
        ..ServiceConfig::default()
    };
    match WeatherService::spawn(
        config,
        Arc::clone(&backend.clock),
        Arc::clone(&backend.wake),
    ) {
        Ok((service, events)) => {
            backend.weather = Some(WeatherClient {
                service,
                events,
                url: url.to_owned(),
            });
        }
        Err(e) => state.notice(format!("weather: {e}"), true),
    }
}

fn drain(state: &mut AppState, backend: &Backend) {
    let Some(client) = &backend.weather else {
        return;
    };
    for _ in 0..EVENTS_PER_FRAME {
        let Ok(ev) = client.events.try_recv() else {
            break;
        };
        match ev {
            WeatherEvent::Report { site, report, .. } => {
                if let Ok(site) = site.parse::<SiteId>() {
                    let w = state.weather.sites.entry(site).or_default();
                    w.report = Some(report);
                    w.error = None;
                }
            }
            WeatherEvent::Failed { site, error, last } => {
                if let Ok(site) = site.parse::<SiteId>() {
                    let w = state.weather.sites.entry(site).or_default();
                    w.error = Some(error.to_string());
                    if last.is_some() {
                        w.report = last;
                    }
                }
            }
        }
    }
}

/// Asks the service for a site's weather unless asked within [`ASK_EVERY_S`].
pub(super) fn ask(state: &mut AppState, backend: &Backend, site: SiteId) {
    let Some(client) = &backend.weather else {
        return;
    };
    let Some(location) = state.site(site).map(|s| s.location) else {
        return;
    };
    let now = state.now;
    let w = state.weather.sites.entry(site).or_default();
    if w.requested_at
        .is_some_and(|t| (now - t).num_seconds() < ASK_EVERY_S)
    {
        return;
    }
    match client.service.request(&site.to_string(), location) {
        Ok(()) => w.requested_at = Some(now),
        Err(e) => w.error = Some(e.to_string()),
    }
}

/// The model a drone is, for its limits.
fn model_of(state: &AppState, drone: Option<DroneId>, site: SiteId) -> String {
    drone
        .and_then(|d| state.drones.get(&d))
        .or_else(|| state.drones.values().find(|d| d.drone.site_id == site))
        .map_or_else(|| "unknown model".to_owned(), |d| d.drone.model.clone())
}

/// The verdict for flying from `site` with `drone`'s model in `[start, end]` up to `max_alt_m`.
pub(super) fn verdict(
    state: &AppState,
    backend: &Backend,
    site: SiteId,
    drone: Option<DroneId>,
    window: (DateTime<Utc>, DateTime<Utc>),
    max_alt_m: f64,
) -> WeatherVerdict {
    let model = model_of(state, drone, site);
    let limits = backend
        .store
        .weather_limits(&model)
        .unwrap_or_else(|_| WeatherLimits::for_model(&model));
    let flight = Flight {
        model: &model,
        limits,
        start: window.0,
        end: window.1.max(window.0 + Duration::seconds(MIN_WINDOW_S)),
        max_alt_m,
    };
    let w = state.weather.sites.get(&site);
    let report = w.and_then(|w| w.report.as_ref());
    let mut v = evaluate(report, &flight, &EvalConfig::default(), state.now);
    if report.is_none()
        && let Some(first) = v.reasons.first_mut()
    {
        first.text = match (&backend.weather, w.and_then(|w| w.error.as_ref())) {
            (None, _) => "no weather data: no forecast URL in Settings".to_owned(),
            (Some(_), Some(e)) => format!("no weather data: {e}"),
            (Some(_), None) => "no weather data yet (fetching)".to_owned(),
        };
    }
    v
}

/// The verdict for a mission flown now, and the report it came from (pre-flight check).
pub(super) fn for_start(
    state: &AppState,
    backend: &Backend,
    m: &Mission,
    drone: DroneId,
    start: DateTime<Utc>,
) -> (WeatherVerdict, Option<WeatherReport>) {
    let end = start + Duration::seconds(m.estimated_duration_s.ceil() as i64);
    let v = verdict(
        state,
        backend,
        m.site_id,
        Some(drone),
        (start, end),
        max_alt_m(m),
    );
    let report = state
        .weather
        .sites
        .get(&m.site_id)
        .and_then(|w| w.report.clone());
    (v, report)
}

fn max_alt_m(m: &Mission) -> f64 {
    m.waypoints
        .iter()
        .map(|w| w.alt_rel_m)
        .fold(m.parameters.altitude_m, f64::max)
}

fn plan_verdict(state: &AppState, backend: &Backend) -> Option<WeatherVerdict> {
    let site = state.plan.site?;
    let start = state.now + Duration::minutes(i64::from(state.weather.plan_start_in_min));
    let preview = state.plan.any_preview();
    let duration_s = preview.map_or(1_800.0, |p| p.duration_s);
    let alt = preview.map_or(state.plan.params.altitude_m, |p| p.alt_rel_m);
    Some(verdict(
        state,
        backend,
        site,
        state.plan.drone,
        (start, start + Duration::seconds(duration_s.ceil() as i64)),
        alt,
    ))
}

/// Each flying mission's verdict for the rest of its flight; a change raises an alert.
fn flying(state: &mut AppState, backend: &Backend) {
    let now = state.now;
    let active: Vec<Mission> = state
        .missions
        .iter()
        .filter(|m| matches!(m.status, MissionStatus::InProgress | MissionStatus::Paused))
        .cloned()
        .collect();
    state
        .weather
        .flying
        .retain(|id, _| active.iter().any(|m| m.id == *id));
    for m in active {
        let flown_s = m.actual_start.map_or(0, |t| (now - t).num_seconds());
        let left_s = (m.estimated_duration_s as i64 - flown_s).max(MIN_WINDOW_S);
        let v = verdict(
            state,
            backend,
            m.site_id,
            m.drone_id,
            (now, now + Duration::seconds(left_s)),
            max_alt_m(&m),
        );
        let before = state.weather.flying.insert(m.id, v.clone());
        let changed = match &before {
            Some(b) => b.verdict != v.verdict,
            None => v.verdict == aviary_core::weather::Verdict::NoGo,
        };
        if changed {
            let label = m
                .drone_id
                .map_or_else(String::new, |d| format!("{}: ", state.drone_label(d)));
            let from = before.map_or_else(|| "start".to_owned(), |b| b.verdict.to_string());
            state.raise_event_alert(
                AlertKind::Weather,
                m.drone_id,
                format!(
                    "{label}weather for '{}' changed from {from} to {}",
                    m.name,
                    v.summary()
                ),
            );
        }
    }
}

/// Reloads the limits of every model in the fleet and the built-in ones when the set of
/// models changed, or always when `force` (after an edit was stored).
pub(super) fn load_limits(state: &mut AppState, backend: &Backend, force: bool) {
    // The fleet's models change when a drone joins (the fleet grows) or with the store's
    // re-read (once a second): checked then, not on every pass (a pass may come every few
    // milliseconds, and the check looks up every drone's model).
    let due = state
        .weather
        .limits_checked
        .is_none_or(|(at, n)| n != state.drones.len() || (state.now - at).num_seconds().abs() >= 1);
    if !force && !due {
        return;
    }
    state.weather.limits_checked = Some((state.now, state.drones.len()));
    if !force && same_models(state) {
        return;
    }
    let mut models: BTreeSet<String> = WeatherLimits::builtin_models().map(str::to_owned).collect();
    models.extend(state.drones.values().map(|d| d.drone.model.clone()));
    let edited: Vec<String> = backend
        .store
        .edited_weather_limits()
        .unwrap_or_default()
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    state.weather.limits = models
        .into_iter()
        .map(|model| ModelLimits {
            limits: backend
                .store
                .weather_limits(&model)
                .unwrap_or_else(|_| WeatherLimits::for_model(&model)),
            edited: edited.contains(&model),
            model,
        })
        .collect();
}

/// Whether the loaded limits are exactly those of the built-in models and the fleet's. Asked
/// every pass, so it copies nothing: the limits are sorted by model (loaded from a set), each
/// model wanted is looked up and its limits marked, and every limit must be marked.
fn same_models(state: &AppState) -> bool {
    let limits = &state.weather.limits;
    let mut wanted = vec![false; limits.len()];
    let mut mark = |model: &str| match limits.binary_search_by(|l| l.model.as_str().cmp(model)) {
        Ok(i) => {
            wanted[i] = true;
            true
        }
        Err(_) => false,
    };
    WeatherLimits::builtin_models().all(&mut mark)
        && state.drones.values().all(|d| mark(&d.drone.model))
        && wanted.into_iter().all(|w| w)
}
