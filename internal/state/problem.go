package state

// Problem says why a state cannot be acted on, naming the first offending
// field, or "" when it can: the checks a file gets when it is read, for a
// state read from elsewhere (the PostgreSQL store).
func (f *File) Problem() string { return f.validate() }
