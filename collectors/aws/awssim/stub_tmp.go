package awssim

func (s *Sim) cloudtrail(c *call) int  { return c.fail(400, "X", "x") }
func (s *Sim) logs(c *call) int        { return c.fail(400, "X", "x") }
func (s *Sim) s3(c *call) int          { return c.fail(400, "X", "x") }
func (s *Sim) s3control(c *call) int   { return c.fail(400, "X", "x") }
func s3Operation(r interface{}) string { return "" }
