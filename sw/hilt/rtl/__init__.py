"""The RTL twin: the accelerator as synthesizable SystemVerilog (hw/rtl + a generated top), simulated
cycle by cycle with Verilator through a cocotb bench that drives its real AXI interfaces."""
