// Read iCalendar files with Mozilla's ical.js (Thunderbird's parser) and print, as JSON
// keyed by file path, what a client would show: the calendar's name and, per VEVENT and
// VTODO, its UID, SUMMARY, DESCRIPTION, LOCATION, STATUS, SEQUENCE and start/end/due
// as UTC instants (or dates for all-day items). With no arguments, reads stdin.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function parse(text) {
  const root = new ICAL.Component(ICAL.parse(text));
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
        description: comp.getFirstPropertyValue("description"),
        location: comp.getFirstPropertyValue("location"),
        status: comp.getFirstPropertyValue("status"),
        sequence: comp.getFirstPropertyValue("sequence"),
        start: when(comp.getFirstPropertyValue("dtstart")),
        end: when(comp.getFirstPropertyValue("dtend")),
        due: when(comp.getFirstPropertyValue("due")),
        tzid: comp.getFirstProperty("dtstart")?.getParameter("tzid") ?? null,
        alarms: comp.getAllSubcomponents("valarm").length,
      });
    }
  }
  return { name: root.getFirstPropertyValue("x-wr-calname"), items };
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  process.stdout.write(JSON.stringify(parse(Buffer.concat(chunks).toString("utf8"))));
} else {
  const result = {};
  for (const path of paths) result[path] = parse(readFileSync(path, "utf8"));
  process.stdout.write(JSON.stringify(result));
}
