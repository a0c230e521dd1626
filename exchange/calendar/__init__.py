"""School calendars: term dates, INSET days, school holidays and bank holidays."""
