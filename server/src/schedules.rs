//! The fleet server's mission scheduler: the runs of every enabled schedule become rows
//! (`schedule_runs`, keyed by schedule and local date), and each pass moves the due ones on
//! with `aviary_core::schedule::RunState` — lead-time checks, then the start (unattended,
//! audited, where the organisation allows it) or a request for the operator's confirmation,
//! or a missed run with its reasons, an audit row and an alert.
//!
//! Once across instances: a run is moved on only inside a transaction holding its row
//! (`FOR UPDATE SKIP LOCKED`), and its new phase is committed before the start command is
//! sent, so two instances (or two passes) never start one run. Survives restarts: runs due
//! while every instance was down are added on the next pass (from `materialized_until`) and
//! started late within the grace window or marked missed.

use std::sync::Arc;
use std::time::Duration;

use aviary_core::auth::Role;
use aviary_core::schedule::{
    LeadFacts, PlannedRun, RunAction, RunKey, RunPhase, RunState, ScheduleSpec, SchedulerConfig,
};
use aviary_core::wire::CommandAction;
use aviary_core::{DroneStatus, LatLon, MissionId, OrgId, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;

use crate::alerts::{Alert, AlertKind};
use crate::auth::AuthUser;
use crate::error::{ApiError, ServerError};
use crate::{Shared, audit};

/// Most runs one schedule adds in one pass (a daily schedule after a long outage adds its
/// missed runs over a few passes).
const MAX_RUNS_PER_PASS: usize = 64;
/// Most runs moved on in one pass.
const MAX_DUE_PER_PASS: i64 = 64;
/// How long the lead-time check waits for the weather provider.
const WEATHER_TIMEOUT: Duration = Duration::from_secs(10);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassSummary {
    /// Run rows added.
    pub added: usize,
    /// Runs started without an operator.
    pub started: usize,
    /// Runs waiting for an operator's confirmation.
    pub asked: usize,
    /// Runs missed.
    pub missed: usize,
}

/// The scheduler's settings for an organisation.
pub fn config_for(s: &Shared, lead_time_s: i32, unattended: bool) -> SchedulerConfig {
    SchedulerConfig {
        lead_time: chrono::Duration::seconds(i64::from(lead_time_s)),
        grace: s.config.schedule_grace,
        unattended_starts: unattended,
    }
}

/// One pass at `now` (the maintenance task calls it every few seconds with the wall clock;
/// tests call it with an injected time).
pub async fn pass(s: &Arc<Shared>, now: DateTime<Utc>) -> Result<PassSummary, ServerError> {
    let mut summary = PassSummary {
        added: materialize(s, now).await?,
        ..PassSummary::default()
    };
    let conn = s.pool.get().await?;
    let due = conn
        .query(
            "SELECT r.schedule_id, r.local_date FROM schedule_runs r
             JOIN schedules s ON s.schedule_id = r.schedule_id
             WHERE r.phase IN ('upcoming', 'ready', 'awaiting_confirmation')
               AND r.due_at - make_interval(secs => s.lead_time_s) <= $1
             ORDER BY r.due_at LIMIT $2",
            &[&now, &MAX_DUE_PER_PASS],
        )
        .await?;
    drop(conn);
    for row in due {
        let key = RunKey {
            schedule: row.get(0),
            local_date: row.get(1),
        };
        match advance(s, key, now).await {
            Ok(Some(RunAction::Start { .. })) => summary.started += 1,
            Ok(Some(RunAction::AskOperator)) => summary.asked += 1,
            Ok(Some(RunAction::Missed { .. })) => summary.missed += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, schedule = %key.schedule, date = %key.local_date, "scheduled run not moved on");
            }
        }
    }
    Ok(summary)
}

/// Adds the rows of the runs due up to `now` + each schedule's lead time.
async fn materialize(s: &Shared, now: DateTime<Utc>) -> Result<usize, ServerError> {
    let conn = s.pool.get().await?;
    let schedules = conn
        .query(
            "SELECT schedule_id, spec, lead_time_s, materialized_until FROM schedules WHERE enabled",
            &[],
        )
        .await?;
    let mut added = 0;
    for row in schedules {
        let id: uuid::Uuid = row.get(0);
        let spec: ScheduleSpec = match serde_json::from_value(row.get(1)) {
            Ok(spec) => spec,
            Err(e) => {
                tracing::warn!(error = %e, schedule = %id, "unreadable schedule skipped");
                continue;
            }
        };
        let lead_s: i32 = row.get(2);
        let from: Option<DateTime<Utc>> = row.get(3);
        let until = now + chrono::Duration::seconds(i64::from(lead_s));
        let runs: Vec<PlannedRun> = spec
            .runs_from(from.unwrap_or(now - s.config.schedule_grace))
            .take_while(|r| r.at <= until)
            .take(MAX_RUNS_PER_PASS)
            .collect();
        for run in &runs {
            let state = RunState::new(
                RunKey {
                    schedule: id,
                    local_date: run.local_date,
                },
                run.at,
            );
            added += conn
                .execute(
                    "INSERT INTO schedule_runs (schedule_id, local_date, due_at, phase, state)
                     VALUES ($1, $2, $3, 'upcoming', $4) ON CONFLICT DO NOTHING",
                    &[
                        &id,
                        &run.local_date,
                        &run.at,
                        &serde_json::to_value(&state)?,
                    ],
                )
                .await? as usize;
        }
        let reached = if runs.len() == MAX_RUNS_PER_PASS {
            runs.last().map_or(until, |r| r.at)
        } else {
            until
        };
        conn.execute(
            "UPDATE schedules SET materialized_until = GREATEST(COALESCE(materialized_until, $2), $2)
             WHERE schedule_id = $1",
            &[&id, &reached],
        )
        .await?;
    }
    Ok(added)
}

/// Moves one run on at `now`, holding its row; `None` when another instance holds it, it is
/// already final, or nothing is due.
async fn advance(
    s: &Arc<Shared>,
    key: RunKey,
    now: DateTime<Utc>,
) -> Result<Option<RunAction>, ServerError> {
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT r.state, s.mission_id, s.org_id, s.lead_time_s, o.unattended_starts, s.created_by
             FROM schedule_runs r JOIN schedules s ON s.schedule_id = r.schedule_id
             JOIN organizations o ON o.org_id = s.org_id
             WHERE r.schedule_id = $1 AND r.local_date = $2
               AND r.phase IN ('upcoming', 'ready', 'awaiting_confirmation')
             FOR UPDATE OF r SKIP LOCKED",
            &[&key.schedule, &key.local_date],
        )
        .await?
    else {
        return Ok(None);
    };
    let mut state: RunState = serde_json::from_value(row.get(0))?;
    let mission = MissionId(row.get(1));
    let org = OrgId(row.get(2));
    let config = config_for(s, row.get(3), row.get(4));
    let creator: Option<uuid::Uuid> = row.get(5);
    let facts = if state.checks_due(now, &config) {
        Some(lead_facts(s, &tx, mission, state.due, now).await?)
    } else {
        None
    };
    let due = state.due;
    let action = state.tick(now, &config, || {
        facts.unwrap_or_else(|| unreachable_facts(due))
    });
    let Some(action) = action else {
        save(&tx, &state, "", now).await?;
        tx.commit().await?;
        return Ok(None);
    };
    let target = format!("schedule:{}/{}", key.schedule, key.local_date);
    match &action {
        RunAction::Start { .. } => {
            audit::append(
                &tx,
                &s.audit_key,
                Some(org),
                None,
                "schedule.unattended_start",
                &target,
                &serde_json::json!({ "mission_id": mission, "due": state.due, "on_behalf_of": creator }),
            )
            .await?;
        }
        RunAction::AskOperator => {
            audit::append(
                &tx,
                &s.audit_key,
                Some(org),
                None,
                "schedule.confirmation_requested",
                &target,
                &serde_json::json!({ "mission_id": mission, "due": state.due }),
            )
            .await?;
        }
        RunAction::Missed { alert } => {
            audit::append(
                &tx,
                &s.audit_key,
                Some(org),
                None,
                "schedule.run_missed",
                &target,
                &serde_json::json!({ "mission_id": mission, "due": state.due, "reason": alert }),
            )
            .await?;
        }
    }
    let outcome = match &action {
        RunAction::Missed { alert } => alert.clone(),
        _ => String::new(),
    };
    save(&tx, &state, &outcome, now).await?;
    // Committed before anything is sent: a run is started at most once.
    tx.commit().await?;
    after(s, key, mission, org, creator.map(UserId), &action).await;
    Ok(Some(action))
}

/// Facts for a tick that does not ask for them (never used: `checks_due` said so).
fn unreachable_facts(due: DateTime<Utc>) -> LeadFacts {
    tracing::error!(%due, "the scheduler asked for facts it had not gathered");
    LeadFacts {
        drone: None,
        drone_status: DroneStatus::Offline,
        link_up: false,
        landed: false,
        battery_pct: None,
        battery_needed_pct: 100.0,
        weather: None,
        conflicting_mission: None,
    }
}

async fn save<C: GenericClient>(
    c: &C,
    state: &RunState,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    c.execute(
        "UPDATE schedule_runs SET phase = $3, state = $4, updated_at = $5,
             outcome = CASE WHEN $6 = '' THEN outcome ELSE $6 END
         WHERE schedule_id = $1 AND local_date = $2",
        &[
            &state.key.schedule,
            &state.key.local_date,
            &state.phase.as_str(),
            &serde_json::to_value(state)?,
            &now,
            &outcome,
        ],
    )
    .await?;
    Ok(())
}

/// Carries out an action after its row is committed: the start command, the operator's
/// prompt on the mission's live channel, the missed run's alert.
async fn after(
    s: &Arc<Shared>,
    key: RunKey,
    mission: MissionId,
    org: OrgId,
    creator: Option<UserId>,
    action: &RunAction,
) {
    match action {
        RunAction::Start { .. } => {
            let result = match creator {
                Some(user) => start_as(s, org, user, mission).await,
                None => Err(ApiError::Conflict(
                    "the schedule has no creator to start it on behalf of".into(),
                )),
            };
            if let Err(e) = result {
                record_start_failure(s, key, mission, &e.to_string()).await;
            }
        }
        RunAction::AskOperator => {
            s.commands
                .publish_event(
                    mission,
                    &serde_json::json!({
                        "type": "schedule_confirmation", "mission_id": mission,
                        "schedule_id": key.schedule, "local_date": key.local_date,
                    }),
                )
                .await;
        }
        RunAction::Missed { alert } => raise_missed(s, key, mission, alert),
    }
}

/// Starts `mission` on behalf of `user` (the schedule's creator for an unattended start, the
/// confirming operator otherwise) through the same command path as `POST /missions/{id}/start`.
pub async fn start_as(
    s: &Arc<Shared>,
    org: OrgId,
    user: UserId,
    mission: MissionId,
) -> Result<serde_json::Value, ApiError> {
    let row = s
        .pool
        .get()
        .await?
        .query_opt(
            "SELECT role FROM users WHERE user_id = $1 AND org_id = $2 AND deleted_at IS NULL",
            &[&user.0, &org.0],
        )
        .await?
        .ok_or_else(|| ApiError::Conflict("the schedule's creator no longer exists".into()))?;
    let role_name: String = row.get(0);
    let role = Role::parse(&role_name)
        .ok_or_else(|| ApiError::Conflict(format!("unknown role {role_name:?}")))?;
    let actor = AuthUser {
        user_id: user,
        org_id: org,
        role,
        token_version: 0,
        expires_at: i64::MAX,
    };
    crate::api::missions::command(s, actor, &mission.to_string(), CommandAction::Start).await
}

async fn record_start_failure(s: &Shared, key: RunKey, mission: MissionId, why: &str) {
    let text = format!("scheduled start of mission {mission} failed: {why}");
    if let Ok(conn) = s.pool.get().await
        && let Err(e) = conn
            .execute(
                "UPDATE schedule_runs SET outcome = $3 WHERE schedule_id = $1 AND local_date = $2",
                &[&key.schedule, &key.local_date, &text],
            )
            .await
    {
        tracing::warn!(error = %e, "could not record a failed scheduled start");
    }
    raise_missed(s, key, mission, &text);
}

fn raise_missed(s: &Shared, key: RunKey, mission: MissionId, text: &str) {
    s.alerts.raise(Alert {
        kind: AlertKind::ScheduleMissed,
        summary: text.to_owned(),
        source: format!("mission:{mission}"),
        dedup_key: format!("schedule_missed/{}/{}", key.schedule, key.local_date),
        details: serde_json::json!({
            "schedule_id": key.schedule, "local_date": key.local_date, "mission_id": mission,
        }),
    });
}

/// What the lead-time checks look at for `mission` due at `due`: its drone's row (status,
/// battery, link), other missions holding the drone, and the weather at its site.
pub async fn lead_facts<C: GenericClient>(
    s: &Shared,
    c: &C,
    mission: MissionId,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<LeadFacts, ServerError> {
    let row = c
        .query_one(
            "SELECT m.drone_id, m.estimated_duration, (m.parameters->>'altitude')::float8,
                    d.serial_number, d.model, d.status,
                    COALESCE(l.battery_level, d.battery_level::float8), d.online, st.lat, st.lon
             FROM missions m JOIN sites st ON st.site_id = m.site_id
             LEFT JOIN drones d ON d.drone_id = m.drone_id
             LEFT JOIN drone_latest l ON l.drone_id = m.drone_id
             WHERE m.mission_id = $1",
            &[&mission.0],
        )
        .await?;
    let drone: Option<uuid::Uuid> = row.get(0);
    let duration_s: i32 = row.get(1);
    let alt_m: Option<f64> = row.get(2);
    let status: Option<String> = row.get(5);
    // The latest telemetry's level, else the registered one.
    let battery: Option<f64> = row.get(6);
    let model: Option<String> = row.get(4);
    let conflicting_mission = match drone {
        Some(d) => c
            .query_opt(
                "SELECT name FROM missions WHERE drone_id = $1 AND mission_id <> $2
                   AND status IN ('in_progress', 'paused') LIMIT 1",
                &[&d, &mission.0],
            )
            .await?
            .map(|r| r.get(0)),
        None => None,
    };
    let site = LatLon::new(row.get(8), row.get(9));
    let duration = chrono::Duration::seconds(i64::from(duration_s.max(60)));
    let fetched = crate::weather::fetch(&s.config.weather_url, site, WEATHER_TIMEOUT, now).await;
    let weather = crate::weather::verdict(
        fetched.as_ref().map_err(String::as_str),
        model.as_deref().unwrap_or(""),
        due,
        duration,
        alt_m.unwrap_or(120.0),
        now,
    );
    let airframe = aviary_planner::Airframe::default();
    let flight_pct = duration.num_seconds() as f64 / 3600.0 * airframe.cruise_power_w
        / airframe.battery_wh
        * 100.0;
    let drone_status = status
        .as_deref()
        .and_then(DroneStatus::parse)
        .unwrap_or(DroneStatus::Offline);
    Ok(LeadFacts {
        drone: drone.map(|_| row.get(3)),
        drone_status,
        link_up: row.get::<_, Option<bool>>(7).unwrap_or(false),
        // The server keeps a drone `in_mission` until its own telemetry shows it on the ground.
        landed: drone_status != DroneStatus::InMission,
        battery_pct: battery,
        battery_needed_pct: flight_pct + airframe.reserve_pct,
        weather: Some(weather),
        conflicting_mission,
    })
}

/// The operator's answer to a run waiting for confirmation: start it (as `user`) or decline
/// with a reason. Audited; a declined or lapsed run is missed with its alert.
pub async fn answer(
    s: &Arc<Shared>,
    user: &AuthUser,
    key: RunKey,
    confirm: Result<(), String>,
    now: DateTime<Utc>,
) -> Result<RunPhase, ApiError> {
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT r.state, s.mission_id, s.lead_time_s, o.unattended_starts
             FROM schedule_runs r JOIN schedules s ON s.schedule_id = r.schedule_id
             JOIN organizations o ON o.org_id = s.org_id
             WHERE r.schedule_id = $1 AND r.local_date = $2 AND s.org_id = $3
             FOR UPDATE OF r",
            &[&key.schedule, &key.local_date, &user.org_id.0],
        )
        .await?
        .ok_or(ApiError::NotFound("scheduled run"))?;
    let mut state: RunState = serde_json::from_value(row.get(0)).map_err(ServerError::from)?;
    let mission = MissionId(row.get(1));
    let config = config_for(s, row.get(2), row.get(3));
    let declined = confirm.as_ref().err().cloned();
    let Some(action) = state.answer(confirm, now, &config) else {
        return Err(ApiError::Conflict(format!(
            "the run is {}, not waiting for a confirmation",
            state.phase.as_str()
        )));
    };
    let target = format!("schedule:{}/{}", key.schedule, key.local_date);
    let (what, outcome) = match &action {
        RunAction::Start { .. } => ("schedule.confirmed", String::new()),
        RunAction::Missed { alert } => (
            if declined.is_some() {
                "schedule.declined"
            } else {
                "schedule.run_missed"
            },
            alert.clone(),
        ),
        RunAction::AskOperator => ("schedule.confirmation_requested", String::new()),
    };
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        what,
        &target,
        &serde_json::json!({ "mission_id": mission, "reason": declined, "outcome": outcome }),
    )
    .await?;
    save(&tx, &state, &outcome, now).await?;
    tx.commit().await?;
    match &action {
        RunAction::Start { .. } => {
            if let Err(e) = start_as(s, user.org_id, user.user_id, mission).await {
                record_start_failure(s, key, mission, &e.to_string()).await;
                return Err(e);
            }
        }
        RunAction::Missed { alert } => raise_missed(s, key, mission, alert),
        RunAction::AskOperator => {}
    }
    Ok(state.phase)
}

/// The next `n` runs of a schedule from `now` (for the API's calendar).
pub fn next_runs(
    spec: &ScheduleSpec,
    now: DateTime<Utc>,
    n: usize,
) -> Vec<(NaiveDate, DateTime<Utc>)> {
    spec.runs_from(now)
        .take(n)
        .map(|r| (r.local_date, r.at))
        .collect()
}
