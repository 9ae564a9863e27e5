package supervisor

// Status is a snapshot of the supervisor, safe to read from any goroutine.
type Status struct {
	// Phase is one of starting, running, draining, stopping, reaping, done.
	Phase string
	// Ready is true while every child serves and no stop has begun: what
	// a readiness probe should report.
	Ready bool
	// Draining is true from the stop request until the end.
	Draining bool
	// Live is false once the supervisor has given up on a child (start
	// failure or crash limit) or has finished.
	Live     bool
	Children []ChildStatus
}

// ChildStatus is one child's part of a Status.
type ChildStatus struct {
	Name    string
	Pid     int // 0 when not running
	Running bool
	// Ready is true while it serves: it became ready and, as far as its
	// watch can tell, answers.
	Ready bool
	// Unanswering is true while it became ready but does not answer now.
	Unanswering bool
	// Hung is true from the moment its watch found it hung until it is
	// restarted.
	Hung     bool
	Restarts int
	// LastExit is the exit code of its last process that ended (128+N
	// for signal N), -1 while none has.
	LastExit int
	// Program is true for a program of the Procfile, which has no part
	// in readiness.
	Program bool
}

// Status returns the latest snapshot.
func (s *Supervisor) Status() *Status { return s.status.Load() }

// publish stores a new snapshot; only Run's goroutine calls it.
func (s *Supervisor) publish() {
	st := &Status{
		Phase:    s.phase.String(),
		Ready:    s.phase == running,
		Draining: s.phase >= draining,
		Live:     s.phase != done && !s.gaveUp,
	}
	for _, c := range s.children {
		cs := ChildStatus{Name: c.spec.Name, Running: c.proc != nil, Ready: c.ready && c.answering,
			Unanswering: c.ready && !c.answering, Hung: c.hung, Restarts: c.restarts, LastExit: c.lastExit,
			Program: c.spec.Program}
		if c.proc != nil {
			cs.Pid = c.proc.Pid()
		}
		st.Ready = st.Ready && (cs.Ready || cs.Program)
		st.Live = st.Live && !c.hung
		st.Children = append(st.Children, cs)
	}
	s.status.Store(st)
}

// Pid returns the pid of the named child's running process, 0 when none.
func (st *Status) Pid(child string) int {
	for _, c := range st.Children {
		if c.Name == child {
			return c.Pid
		}
	}
	return 0
}

// LastExit returns the exit code of the named child's last process that
// ended, -1 when none has.
func (st *Status) LastExit(child string) int {
	for _, c := range st.Children {
		if c.Name == child {
			return c.LastExit
		}
	}
	return -1
}
