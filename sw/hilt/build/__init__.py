"""The build flow: HLS project -> Vitis HLS IP -> Vivado block design and bitstream -> PYNQ overlay folder."""
