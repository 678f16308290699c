"""iCalendar feeds built from the store for an audience and a language, and the feed
server. Imports cycle/, never flows/."""
