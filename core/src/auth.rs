//! Roles and the permission check shared by the app and the fleet server.

use serde::{Deserialize, Serialize};

/// A user's role within an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users and settings.
    Admin,
    /// Plans and flies missions, manages drones; never manages users.
    Operator,
    /// Reads fleet, missions, telemetry and reports; never commands.
    Analyst,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Analyst];

    /// Lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Analyst => "analyst",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Something a user may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See fleet, missions, telemetry.
    Read,
    /// Read and export reports.
    ViewReports,
    /// Create, edit or delete a planned mission.
    PlanMission,
    /// Start, pause, resume, abort, RTH.
    CommandMission,
    /// Change a drone's status (maintenance, available).
    ManageDrones,
    /// Create users and change roles.
    ManageUsers,
    /// Read the audit log.
    ReadAudit,
}

/// Whether `role` may perform `action`.
pub const fn can(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Operator => !matches!(action, Action::ManageUsers),
        Role::Analyst => matches!(action, Action::Read | Action::ViewReports),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysts_never_command_operators_never_manage_users() {
        assert!(!can(Role::Analyst, Action::CommandMission));
        assert!(!can(Role::Analyst, Action::PlanMission));
        assert!(can(Role::Analyst, Action::ViewReports));
        assert!(!can(Role::Operator, Action::ManageUsers));
        assert!(can(Role::Operator, Action::CommandMission));
        assert!(can(Role::Admin, Action::ManageUsers));
        for r in Role::ALL {
            assert!(can(r, Action::Read));
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
