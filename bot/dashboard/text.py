"""The dashboard's words in Spanish and English (management's page, not citizens')."""

from __future__ import annotations

LANGS = ("es", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"es": "PSV: tablero nacional", "en": "PSV: national dashboard"},
    "login_title": {"es": "PSV: acceso al tablero", "en": "PSV: dashboard sign-in"},
    "login_help": {
        "es": "Pegue su token de administración (psv admin-token create). Se guarda en esta "
        "sesión del navegador y no se muestra de nuevo.",
        "en": "Paste your admin token (psv admin-token create). It is kept for this browser "
        "session and never shown again.",
    },
    "token": {"es": "Token", "en": "Token"},
    "sign_in": {"es": "Entrar", "en": "Sign in"},
    "sign_out": {"es": "Salir", "en": "Sign out"},
    "throttled": {
        "es": "Demasiados intentos desde esta dirección; espere {wait} s.",
        "en": "Too many attempts from this address; wait {wait} s.",
    },
    "national": {"es": "Nacional", "en": "National"},
    "all_regions": {"es": "Todas las regiones", "en": "All regions"},
    "region": {"es": "Región", "en": "Region"},
    "service": {"es": "Servicio", "en": "Service"},
    "period": {"es": "Periodo", "en": "Period"},
    "today": {"es": "Hoy", "en": "Today"},
    "7d": {"es": "7 días", "en": "7 days"},
    "30d": {"es": "30 días", "en": "30 days"},
    "month": {"es": "Un mes", "en": "A month"},
    "custom": {"es": "Otro rango", "en": "Custom range"},
    "from": {"es": "Desde", "en": "From"},
    "to": {"es": "Hasta", "en": "To"},
    "show": {"es": "Mostrar", "en": "Show"},
    "live": {"es": "En vivo", "en": "Live"},
    "live_off": {"es": "sin conexión en vivo", "en": "live feed disconnected"},
    "requests": {"es": "Conversaciones iniciadas", "en": "Conversations started"},
    "appointments": {"es": "Citas reservadas", "en": "Appointments booked"},
    "attended": {"es": "Atendidas", "en": "Attended"},
    "no_shows": {"es": "No asistieron", "en": "No-shows"},
    "cancelled": {"es": "Canceladas", "en": "Cancellations"},
    "event_registrations": {"es": "Inscripciones a eventos", "en": "Event registrations"},
    "satisfaction": {"es": "Satisfacción (1-5)", "en": "Satisfaction (1-5)"},
    "answers": {"es": "respuestas", "en": "answers"},
    "median_wait": {"es": "Espera mediana (h)", "en": "Median wait (h)"},
    "savings": {"es": "Ahorro de los ciudadanos", "en": "Citizens' savings"},
    "savings_help": {
        "es": "{n} atenciones sin viaje × S/ {soles} y {hours} h cada una",
        "en": "{n} attentions without a trip × S/ {soles} and {hours} h each",
    },
    "hours": {"es": "horas", "en": "hours"},
    "ranking": {"es": "Regiones por citas reservadas", "en": "Regions by appointments booked"},
    "trend": {"es": "Tendencia diaria", "en": "Daily trend"},
    "by_region": {"es": "Por región", "en": "By region"},
    "by_service": {"es": "Por servicio", "en": "By service"},
    "events": {"es": "Eventos de capacitación", "en": "Training events"},
    "events_held": {"es": "Eventos realizados", "en": "Events held"},
    "confirmed": {"es": "Participantes confirmados", "en": "Confirmed participants"},
    "per_event": {"es": "Participantes por evento", "en": "Participants per event"},
    "in_person_ref": {
        "es": "frente a {n} de un evento presencial",
        "en": "against {n} at an in-person event",
    },
    "attendance": {"es": "Asistencia", "en": "Attendance"},
    "attendance_of": {"es": "en {n} eventos ya realizados", "en": "at {n} events already held"},
    "attendance_note": {
        "es": "El bot no registra quién llegó: la asistencia son los participantes "
        "confirmados de los eventos que ya empezaron.",
        "en": "The bot does not record who came: attendance is the confirmed participants "
        "of the events that have already started.",
    },
    "first_free": {
        "es": "Días hasta el primer cupo libre, por región y servicio",
        "en": "Days to the first free slot, by region and service",
    },
    "first_free_help": {
        "es": "Lo primero que se ofrecería hoy a un ciudadano (horarios, cierres y citas "
        "reservadas); calculado a las {at}, se renueva cada {minutes} min. Las esperas más "
        "largas primero.",
        "en": "What a citizen would be offered first now (hours, closures and booked "
        "appointments); computed at {at}, renewed every {minutes} min. Longest waits first.",
    },
    "days": {"es": "Días", "en": "Days"},
    "computing": {
        "es": "Calculando los cupos de todas las regiones; aparecerán al recargar la página.",
        "en": "Searching every region's slots; they will show when the page is reloaded.",
    },
    "no_slot": {"es": "ninguno en {n} días", "en": "none in {n} days"},
    "export": {"es": "Descargar", "en": "Download"},
    "tickets": {"es": "Derivaciones a una persona", "en": "Hand-offs to a person"},
    "waiting": {"es": "Esperando", "en": "Waiting"},
    "median_minutes": {"es": "Espera mediana (min)", "en": "Median wait (min)"},
    "oldest_minutes": {"es": "La más antigua (min)", "en": "Oldest (min)"},
    "waits": {
        "es": "Días hasta la cita, por región y servicio (mediana)",
        "en": "Days to the appointment, by region and service (median)",
    },
    "waits_help": {
        "es": "Primeras reservas del periodo; las esperas más largas primero.",
        "en": "First bookings of the period; longest waits first.",
    },
    "median_days": {"es": "Días (mediana)", "en": "Days (median)"},
    "bookings": {"es": "Reservas", "en": "Bookings"},
    "none": {"es": "Sin datos en el periodo.", "en": "No data in the period."},
    "bad_period": {"es": "Periodo no válido: {why}", "en": "Invalid period: {why}"},
    "feed": {"es": "Últimos cambios", "en": "Latest changes"},
    "kind_booked": {"es": "Cita reservada", "en": "Appointment booked"},
    "kind_cancelled": {"es": "Cita cancelada", "en": "Appointment cancelled"},
    "kind_attended": {"es": "Cita atendida", "en": "Appointment attended"},
    "kind_no_show": {"es": "No asistió", "en": "No-show"},
    "kind_registered": {"es": "Inscripción a evento", "en": "Event registration"},
    "language": {"es": "English", "en": "Español"},
    "role_viewer": {"es": "solo cifras", "en": "figures only"},
    "updated": {"es": "Datos al", "en": "Figures as of"},
}


def translate(key: str, lang: str, **values: object) -> str:
    """The text of a key in a language (Spanish when missing), with values filled in."""
    entry = TEXT.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["es"]
    return text.format(**values) if values else text
