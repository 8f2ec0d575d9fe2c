package protocol

// SetMaxResponse lowers the response bound for a test, so that endless
// responses reach it in a few reads; it returns the function that restores
// it. Not safe while a run is going.
func SetMaxResponse(n int64) (restore func()) {
	old := maxResponse
	maxResponse = n
	return func() { maxResponse = old }
}
