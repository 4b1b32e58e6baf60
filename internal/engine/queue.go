package engine

// queue holds waiting jobs. Clients take turns (round-robin); each client's
// jobs run in the order it sent them. Not safe for concurrent use: the
// engine's lock guards it.
type queue struct {
	turn    []string          // clients with waiting jobs, next first
	pending map[string][]*Job // per client, oldest first
	n       int
}

func (q *queue) push(j *Job, client string) {
	if q.pending == nil {
		q.pending = map[string][]*Job{}
	}
	if len(q.pending[client]) == 0 {
		q.turn = append(q.turn, client)
	}
	q.pending[client] = append(q.pending[client], j)
	q.n++
}

// pop removes and returns the next job, or nil when empty.
func (q *queue) pop() *Job {
	if len(q.turn) == 0 {
		return nil
	}
	c := q.turn[0]
	q.turn = q.turn[1:]
	jobs := q.pending[c]
	j := jobs[0]
	if len(jobs) > 1 {
		q.pending[c] = jobs[1:]
		q.turn = append(q.turn, c)
	} else {
		delete(q.pending, c)
	}
	q.n--
	return j
}

// remove takes j out of the queue; it reports whether j was there.
func (q *queue) remove(j *Job, client string) bool {
	jobs := q.pending[client]
	for i, x := range jobs {
		if x != j {
			continue
		}
		jobs = append(jobs[:i:i], jobs[i+1:]...)
		q.n--
		if len(jobs) > 0 {
			q.pending[client] = jobs
			return true
		}
		delete(q.pending, client)
		for k, c := range q.turn {
			if c == client {
				q.turn = append(q.turn[:k:k], q.turn[k+1:]...)
				break
			}
		}
		return true
	}
	return false
}

// order lists the waiting jobs in the order pop would return them.
func (q *queue) order() []*Job {
	idx := map[string]int{}
	turn := append([]string(nil), q.turn...)
	out := make([]*Job, 0, q.n)
	for len(turn) > 0 {
		c := turn[0]
		turn = turn[1:]
		jobs := q.pending[c]
		out = append(out, jobs[idx[c]])
		idx[c]++
		if idx[c] < len(jobs) {
			turn = append(turn, c)
		}
	}
	return out
}

func (q *queue) len() int { return q.n }
