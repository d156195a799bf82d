package netfault_test

import (
	"bufio"
	"fmt"
	"net"

	"github.com/backplane-go/backplane/cluster/internal/netfault"
)

// A forwarder between a client and an echo server: bytes pass, then the
// connection is cut.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					_, _ = c.Write([]byte(line))
				}
			}()
		}
	}()

	fw, err := netfault.Listen(ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fw.Close()
	c, err := net.Dial("tcp", fw.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	_, _ = c.Write([]byte("hello\n"))
	line, _ := r.ReadString('\n')
	fmt.Print("echoed: ", line)

	fw.Cut()
	_, err = r.ReadString('\n')
	fmt.Println("after the cut:", err != nil, fw.Mode())
	// Output:
	// echoed: hello
	// after the cut: true cut
}
