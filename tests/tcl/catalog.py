"""The Vivado / Vitis HLS commands and IP cores the generated Tcl may use, as looked up in Xilinx's documents.

Commands: UG835 (Vivado Design Suite Tcl Command Reference) and UG1399 (Vitis HLS, "Tcl commands").
IP cores (Vivado 2022.1 catalog versions) with the CONFIG properties the scripts set and the pins they
connect, from each core's product guide:

| core | VLNV | guide |
|---|---|---|
| Zynq-7000 PS | xilinx.com:ip:processing_system7:5.5 | UG585 / PS7 IP (PCW_* properties) |
| Zynq UltraScale+ PS | xilinx.com:ip:zynq_ultra_ps_e:3.4 | PG201 (PSU__* properties) |
| AXI DMA | xilinx.com:ip:axi_dma:7.1 | PG021 |
| Clocking Wizard | xilinx.com:ip:clk_wiz:6.0 | PG065 |
| Processor System Reset | xilinx.com:ip:proc_sys_reset:5.0 | PG164 |
| AXI GPIO | xilinx.com:ip:axi_gpio:2.0 | PG144 |
| SmartConnect | xilinx.com:ip:smartconnect:1.0 | PG247 |

The tests check generated scripts against this table, which is kept apart from the generator on purpose:
a property or pin name mistyped in the generator does not pass because the same typo is in the check.
"""

VIVADO_COMMANDS = {
    # project and IP catalog
    "create_project", "set_property", "get_property", "current_project", "update_ip_catalog", "version",
    "add_files", "get_files", "current_fileset", "get_filesets",
    # block design (IP integrator)
    "create_bd_design", "create_bd_cell", "get_bd_cells", "get_bd_pins", "get_bd_intf_pins", "connect_bd_net",
    "connect_bd_intf_net", "apply_bd_automation", "assign_bd_address", "get_bd_addr_spaces", "get_bd_addr_segs",
    "validate_bd_design", "save_bd_design", "make_wrapper", "generate_target", "regenerate_bd_layout",
    # runs, reports, outputs
    "launch_runs", "wait_on_run", "get_runs", "open_run", "report_timing_summary", "report_utilization",
    "write_bitstream", "write_hw_platform",
}

VITIS_HLS_COMMANDS = {
    "open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "config_export",
    "csim_design", "csynth_design", "cosim_design", "export_design", "close_project", "exit",
}

# Tcl's own commands, run for real by the interpreter (never reach the recorder)
TCL_BUILTINS = {"set", "if", "string", "file", "list", "lindex", "puts", "error", "foreach", "expr"}

IPS = {
    "xilinx.com:ip:processing_system7:5.5": {
        "properties": {"PCW_USE_M_AXI_GP0", "PCW_USE_M_AXI_GP1", "PCW_EN_CLK0_PORT", "PCW_EN_CLK1_PORT",
                       "PCW_EN_RST0_PORT", "PCW_FPGA0_PERIPHERAL_FREQMHZ", "PCW_FPGA1_PERIPHERAL_FREQMHZ",
                       "PCW_USE_FABRIC_INTERRUPT", "PCW_IRQ_F2P_INTR"}
                      | {f"PCW_USE_S_AXI_HP{i}" for i in range(4)} | {f"PCW_S_AXI_HP{i}_DATA_WIDTH" for i in range(4)},
        "pins": {"FCLK_CLK0", "FCLK_CLK1", "FCLK_RESET0_N", "M_AXI_GP0", "M_AXI_GP0_ACLK", "IRQ_F2P", "DDR",
                 "FIXED_IO"} | {f"S_AXI_HP{i}" for i in range(4)} | {f"S_AXI_HP{i}_ACLK" for i in range(4)},
        "segments": {f"S_AXI_HP{i}/HP{i}_DDR_LOWOCM" for i in range(4)},
        "spaces": {"Data"},
    },
    "xilinx.com:ip:zynq_ultra_ps_e:3.4": {
        # S_AXI_GP2..GP5 are the HP0..HP3_FPD slaves (PG201)
        "properties": {"PSU__USE__M_AXI_GP0", "PSU__USE__M_AXI_GP1", "PSU__USE__M_AXI_GP2", "PSU__MAXIGP0__DATA_WIDTH",
                       "PSU__FPGA_PL0_ENABLE", "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ", "PSU__USE__IRQ0"}
                      | {f"PSU__USE__S_AXI_GP{i}" for i in range(2, 6)} | {f"PSU__SAXIGP{i}__DATA_WIDTH" for i in range(2, 6)},
        "pins": {"pl_clk0", "pl_resetn0", "M_AXI_HPM0_FPD", "maxihpm0_fpd_aclk", "pl_ps_irq0"}
                | {f"S_AXI_HP{i}_FPD" for i in range(4)} | {f"saxihp{i}_fpd_aclk" for i in range(4)},
        "segments": {f"SAXIGP{i + 2}/HP{i}_DDR_{r}" for i in range(4) for r in ("LOW", "HIGH")},
        "spaces": {"Data"},
    },
    "xilinx.com:ip:axi_dma:7.1": {
        "properties": {"c_include_sg", "c_sg_include_stscntrl_strm", "c_include_mm2s", "c_include_s2mm",
                       "c_sg_length_width", "c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width",
                       "c_m_axi_s2mm_data_width", "c_s_axis_s2mm_tdata_width", "c_mm2s_burst_size",
                       "c_s2mm_burst_size", "c_addr_width", "c_include_mm2s_dre", "c_include_s2mm_dre"},
        "pins": {"S_AXI_LITE", "M_AXI_MM2S", "M_AXI_S2MM", "M_AXIS_MM2S", "S_AXIS_S2MM", "s_axi_lite_aclk",
                 "m_axi_mm2s_aclk", "m_axi_s2mm_aclk", "axi_resetn", "mm2s_introut", "s2mm_introut"},
        "segments": {"S_AXI_LITE/Reg"},
        "spaces": {"Data_MM2S", "Data_S2MM"},
    },
    "xilinx.com:ip:clk_wiz:6.0": {
        "properties": {"PRIMITIVE", "PRIM_SOURCE", "PRIM_IN_FREQ", "USE_DYN_RECONFIG", "INTERFACE_SELECTION",
                       "CLKOUT1_REQUESTED_OUT_FREQ", "USE_LOCKED", "USE_RESET", "RESET_TYPE", "CLKOUT1_DRIVES"},
        "pins": {"clk_in1", "clk_out1", "locked", "s_axi_lite", "s_axi_aclk", "s_axi_aresetn"},
        "segments": {"s_axi_lite/Reg"},
        "spaces": set(),
    },
    "xilinx.com:ip:proc_sys_reset:5.0": {
        "properties": {"C_EXT_RESET_HIGH", "C_AUX_RESET_HIGH", "C_EXT_RST_WIDTH", "C_AUX_RST_WIDTH"},
        "pins": {"slowest_sync_clk", "ext_reset_in", "aux_reset_in", "mb_debug_sys_rst", "dcm_locked",
                 "peripheral_aresetn", "interconnect_aresetn", "peripheral_reset", "bus_struct_reset", "mb_reset"},
        "segments": set(),
        "spaces": set(),
    },
    "xilinx.com:ip:axi_gpio:2.0": {
        "properties": {"C_GPIO_WIDTH", "C_ALL_OUTPUTS", "C_ALL_INPUTS", "C_DOUT_DEFAULT", "C_IS_DUAL"},
        "pins": {"S_AXI", "s_axi_aclk", "s_axi_aresetn", "gpio_io_o", "GPIO"},
        "segments": {"S_AXI/Reg"},
        "spaces": set(),
    },
    "xilinx.com:ip:smartconnect:1.0": {
        "properties": {"NUM_SI", "NUM_MI", "NUM_CLKS"},
        "pins": {"aclk", "aclk1", "aresetn"} | {f"{d}{i:02d}_AXI" for d in "SM" for i in range(16)},
        "segments": set(),
        "spaces": set(),
    },
}


def hls_ip(ip_name: str, kind) -> dict:
    """The Vitis HLS IP's entry: its VLNV from export_design and the ports Vitis HLS gives its top."""
    pins = {kind.control, kind.clock, kind.reset, kind.interrupt} | {p for p in (kind.stream_in, kind.stream_out) if p}
    return {"properties": set(), "pins": pins | set(kind.masters), "segments": {f"{kind.control}/Reg"},
            "spaces": {f"Data_{m}" for m in kind.masters}}
