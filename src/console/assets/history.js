// The history page: daily P&L calendar and equity curves (filled in by the history page).
