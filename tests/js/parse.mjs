// Read an iCalendar text on stdin with Mozilla's ical.js (Thunderbird's parser) and print
// what a client would show as JSON: per VEVENT/VTODO its UID, SUMMARY, STATUS, SEQUENCE
// and its start/end/due as UTC instants (or dates for all-day items).
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const root = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
}
const when = (time) => {
  if (!time) return null;
  return time.isDate ? time.toString() : time.toJSDate().toISOString();
};
const items = [];
for (const kind of ["vevent", "vtodo"]) {
  for (const comp of root.getAllSubcomponents(kind)) {
    items.push({
      kind,
      uid: comp.getFirstPropertyValue("uid"),
      summary: comp.getFirstPropertyValue("summary"),
      status: comp.getFirstPropertyValue("status"),
      sequence: comp.getFirstPropertyValue("sequence"),
      start: when(comp.getFirstPropertyValue("dtstart")),
      end: when(comp.getFirstPropertyValue("dtend")),
      due: when(comp.getFirstPropertyValue("due")),
      tzid: comp.getFirstProperty("dtstart")?.getParameter("tzid") ?? null,
    });
  }
}
process.stdout.write(JSON.stringify({ name: root.getFirstPropertyValue("x-wr-calname"), items }));
