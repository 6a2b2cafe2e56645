// A small design for yosys: a UART-style shift register, a counter and an ALU.
module alu(input [7:0] a, input [7:0] b, input [2:0] op, output reg [7:0] y);
  always @* case (op)
    3'd0: y = a + b;
    3'd1: y = a - b;
    3'd2: y = a & b;
    3'd3: y = a | b;
    3'd4: y = a ^ b;
    3'd5: y = a << b[2:0];
    3'd6: y = a >> b[2:0];
    default: y = a * b;
  endcase
endmodule

module top(input clk, input rst, input rx, input [2:0] op, output [7:0] leds, output tick);
  reg [15:0] count;
  reg [7:0] shift, acc;
  wire [7:0] res;
  alu u(.a(acc), .b(shift), .op(op), .y(res));
  always @(posedge clk) begin
    if (rst) begin count <= 0; shift <= 0; acc <= 0; end
    else begin
      count <= count + 1;
      shift <= {shift[6:0], rx};
      if (count[3:0] == 0) acc <= res;
    end
  end
  assign leds = acc;
  assign tick = &count;
endmodule
