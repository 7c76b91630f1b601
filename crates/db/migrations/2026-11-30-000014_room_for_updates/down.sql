ALTER TABLE stock_levels RESET (fillfactor);
ALTER TABLE ledger_levels RESET (fillfactor);
ALTER TABLE ledger_daily RESET (fillfactor);
