//! Results of background jobs (plans, imports, exports, replays, reports, DEMs) into state.

use crate::gui::backend::Backend;
use crate::gui::jobs::JobOutput;
use crate::gui::settings::Settings;
use crate::gui::state::{AppState, Replay, ReplayMark};

/// Applies the result of one finished job (a DEM also changes the links and the settings).
pub(super) fn apply_job_output(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
    out: JobOutput,
) {
    match out {
        JobOutput::Planned { revision, result } => match result {
            Ok(preview) => {
                state.plan.preview = Some((revision, preview));
                if revision == state.plan.revision {
                    state.plan.preview_error = None;
                }
            }
            Err(e) => {
                if revision == state.plan.revision {
                    state.plan.preview_error = Some(e);
                    state.plan.preview = None;
                }
            }
        },
        JobOutput::AreaImported(Ok((name, area))) => {
            // GeoJSON and KML close their rings by repeating the first vertex; the editor's
            // polygon is open (one handle per corner).
            let mut ring = area.exterior;
            if ring.len() > 3 && ring.first() == ring.last() {
                ring.pop();
            }
            let n = ring.len();
            state.focus_map_on(ring.iter().copied());
            state.plan.set_vertices(ring);
            state.plan.name.clone_from(&name);
            state.notice(format!("imported {name}: {n} vertices"), false);
        }
        JobOutput::AreaImported(Err(e)) => state.notice(format!("import failed: {e}"), true),
        JobOutput::NoFlyImported(Ok((name, zones))) => {
            let n = zones.len();
            state.plan.add_no_fly(zones.into_iter().map(|z| z.exterior));
            state.notice(format!("imported {n} no-fly zone(s) from {name}"), false);
        }
        JobOutput::MissionImported(Ok(m)) => super::files::apply_mission_import(state, m),
        JobOutput::MissionImported(Err(e)) => {
            state.notice(format!("mission import failed: {e}"), true);
        }
        JobOutput::NoFlyImported(Err(e)) => {
            state.notice(format!("no-fly import failed: {e}"), true);
        }
        JobOutput::Exported(Ok(path)) => {
            state.notice(format!("exported {}", path.display()), false);
        }
        JobOutput::Exported(Err(e)) => state.notice(format!("export failed: {e}"), true),
        JobOutput::TlogLoaded(Ok((title, log))) => {
            let left_out = if log.positions_without_fix > 0 {
                format!(
                    "; {} positions without a GPS fix left out",
                    log.positions_without_fix
                )
            } else {
                String::new()
            };
            let text = format!(
                "loaded {title}: {} positions, {} mode changes{left_out}",
                log.samples.len(),
                log.modes.len()
            );
            state.notice(text, false);
            state.focus_map_on(log.samples.iter().map(|s| s.pos));
            let timeline = log
                .modes
                .into_iter()
                .map(|m| ReplayMark {
                    time: m.time,
                    label: if m.armed {
                        m.mode
                    } else {
                        format!("{} · disarmed", m.mode)
                    },
                    detail: String::new(),
                })
                .collect();
            state.history.replay = Some(Replay::new(title, log.samples, Vec::new(), timeline));
        }
        JobOutput::TlogLoaded(Err(e)) => state.notice(format!("cannot replay: {e}"), true),
        JobOutput::ReportWritten(Ok(path)) => {
            state.notice(format!("report written: {}", path.display()), false);
            state.last_report = Some(path.display().to_string());
        }
        JobOutput::ReportWritten(Err(e)) => state.notice(format!("report failed: {e}"), true),
        JobOutput::OrgReportWritten(Ok(paths)) => {
            let list = paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            state.notice(format!("organisation report written: {list}"), false);
            state.last_report = Some(list);
        }
        JobOutput::OrgReportWritten(Err(e)) => {
            state.notice(format!("organisation report failed: {e}"), true);
        }
        JobOutput::DemLoaded {
            used_for,
            path,
            result,
        } => super::terrain::apply_loaded(state, backend, settings, used_for, path, result),
        JobOutput::Cancelled => {}
    }
}
