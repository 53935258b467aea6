// The lakeFS server the integration suite runs against: lakeFS's own command, built as a
// dependency of this module (see scripts/lakefs_server.py). No lakeFS source lives here.
package main

import "github.com/treeverse/lakefs/cmd/lakefs/cmd"

func main() { cmd.Execute() }
