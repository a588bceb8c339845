"""The admin API's routes in one table (docs/openapi.yaml describes the same set)."""

from __future__ import annotations

from bot.admin_api import (
    appointments,
    audit_log,
    citizens,
    closures,
    events,
    flows,
    outbox,
    reports,
    services,
    specialists,
    tenants,
    tickets,
)
from bot.admin_api.errors import Handler

T = "/tenants/{t}"
F = T + "/flows/{name}"
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/me", tenants.me),
    ("GET", "/tenants", tenants.list_tenants),
    ("POST", T + "/onboard", tenants.onboard),
    ("GET", T + "/flows", flows.list_flows),
    ("GET", F, flows.show_flow),
    ("GET", F + "/versions", flows.flow_versions),
    ("POST", F + "/validate", flows.validate_flow),
    ("POST", F + "/drafts", flows.save_draft),
    ("POST", F + "/publish", flows.publish_flow),
    ("POST", F + "/rollback", flows.rollback_flow),
    ("POST", F + "/reset", flows.reset_flow),
    ("GET", F + "/diff", flows.diff_flow),
    ("GET", F + "/graph", flows.graph_flow),
    ("POST", F + "/try", flows.try_flow),
    ("GET", T + "/services", services.list_services),
    ("PATCH", T + "/services/{code}", services.patch_service),
    ("GET", T + "/specialists", specialists.list_specialists),
    ("POST", T + "/specialists", specialists.add_specialist),
    ("POST", T + "/specialists/import", specialists.import_specialists),
    ("PUT", T + "/specialists/{id}/hours", specialists.set_hours),
    ("POST", T + "/specialists/{id}/days-off", specialists.day_off),
    ("POST", T + "/specialists/{id}/deactivate", specialists.deactivate),
    ("GET", T + "/closures", closures.list_closures),
    ("POST", T + "/closures", closures.add_closure),
    ("DELETE", T + "/closures/{id}", closures.remove_closure),
    ("GET", T + "/events", events.list_events),
    ("POST", T + "/events", events.create_event),
    ("GET", T + "/events/{id}/attendees", events.attendees),
    ("POST", T + "/events/{id}/cancel", events.cancel_event),
    ("GET", T + "/appointments", appointments.list_appointments),
    ("GET", T + "/appointments.csv", appointments.export_appointments),
    ("GET", T + "/tickets", tickets.list_tickets),
    ("POST", T + "/tickets/{id}/assign", tickets.assign_ticket),
    ("GET", T + "/outbox", outbox.list_outbox),
    ("POST", T + "/outbox/{id}/retry", outbox.retry_message),
    ("POST", T + "/citizens/rebind", citizens.rebind),
    ("GET", "/reports", reports.get_report),
    ("GET", "/audit", audit_log.list_audit),
)
