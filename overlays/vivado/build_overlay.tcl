# build_overlay.tcl -- the pynq-accel overlay, from RTL to <name>.bit + <name>.hwh.
#
#   vivado -mode batch -notrace -source build_overlay.tcl -tclargs PARAMS.tcl [STEP ...]
#
# PARAMS.tcl is generated from the spec by accel.overlays.vivado_params (scripts/build_bitstream
# does all of this): every address, width, name and VLNV below comes from it. STEPs (default:
# all of them, in this order):
#   ip   package overlays/rtl/*.v + the generated accel_spec.vh as the IP  $IP_VLNV, with the
#        spec's registers (so the .hwh lists them, as the generated one does)
#   bd   block design: PS (board preset) + AXI DMA 7.1 (simple mode) + the accelerator,
#        SmartConnects to the PS HP (data) and GP (control) ports, clock, reset, addresses from
#        the spec; no PL-to-PS interrupt (docs/BOARD.md); checks every spec value it set by
#        reading it back
#   bit  synthesis, implementation, bitstream; fails unless the routed timing summary says all
#        constraints are met and setup/hold slack is not negative; copies
#        <OVERLAY_NAME>.bit and <OVERLAY_NAME>.hwh side by side into $OUTPUT_DIR
# Every failure prints one line starting "ERROR: [accel]" and exits with status 1.
# Written against Vivado 2022.1 and newer (PYNQ v3.0.1 images were built with 2022.1, PYNQ v3.1
# images with 2024.1) and the documented Tcl commands (UG835) and IP-packager commands (UG1118).

# ------------------------------------------------------------------------- helpers
proc accel_fail {msg} {
    puts stderr "ERROR: \[accel\] $msg"
    exit 1
}

proc accel_info {msg} {
    puts "INFO: \[accel\] $msg"
}

# Integer value of a Vivado number: 0x hex, decimal, or a size such as 64K / 1M / 4G.
proc to_int {value} {
    set v [string trim $value]
    if {[regexp -nocase {^([0-9]+)\s*([KMGT])$} $v -> n unit]} {
        set shift [dict get {K 10 M 20 G 30 T 40} [string toupper $unit]]
        return [expr {$n << $shift}]
    }
    if {[regexp -nocase {^0x[0-9a-f]+$} $v] || [string is entier -strict $v]} {
        return [expr {$v}]
    }
    accel_fail "cannot read '$value' as a number"
}

# The newest version of an IP in the catalog, by vendor:library:name prefix.
proc latest_ipdef {prefix} {
    set best ""
    set best_version ""
    foreach def [get_ipdefs -all -quiet "${prefix}:*"] {
        set version [lindex [split $def :] 3]
        if {$best eq "" || [package vcompare $version $best_version] > 0} {
            set best $def
            set best_version $version
        }
    }
    return $best
}

proc require_ipdef {vlnv what} {
    if {[get_ipdefs -all -quiet $vlnv] eq ""} {
        accel_fail "$what $vlnv is not in the IP catalog"
    }
    return $vlnv
}

# Fail unless a cell's CONFIG.<name> reads back as <want> (numbers compared as numbers).
proc expect_config {cell name want} {
    set got [get_property CONFIG.$name [get_bd_cells $cell]]
    if {[string is entier -strict $want] || [regexp -nocase {^0x[0-9a-f]+$} $want]} {
        set same [expr {[to_int $got] == [to_int $want]}]
    } else {
        set same [string equal -nocase $got $want]
    }
    if {!$same} {
        accel_fail "$cell CONFIG.$name is '$got' after validation, the spec needs '$want'"
    }
}

proc check_params {} {
    set missing {}
    foreach name $::REQUIRED_PARAMS {
        if {![info exists ::$name]} {
            lappend missing $name
        }
    }
    if {[llength $missing]} {
        accel_fail "the params file lacks [join $missing {, }]: regenerate it with scripts/build_bitstream"
    }
}

proc check_vivado_version {} {
    set have [lindex [split [version -short] _] 0]
    regsub {^([0-9]+\.[0-9]+).*} $have {\1} have
    if {[package vcompare $have $::VIVADO_MIN_VERSION] < 0} {
        accel_fail "Vivado $have is too old: this flow needs Vivado $::VIVADO_MIN_VERSION or newer"
    }
    accel_info "Vivado $have, spec $::SPEC_NAME ($::BOARD, $::PART), spec hash $::SPEC_HASH32"
}

# Board files: from the Xilinx Board Store (the PYNQ-Z2's tul.com.tw:pynq-z2 and the Kria boards
# ship there), or in $ACCEL_BOARD_REPO (colon-separated board repositories).
proc board_part {} {
    set repos {}
    if {[info exists ::env(ACCEL_BOARD_REPO)] && $::env(ACCEL_BOARD_REPO) ne ""} {
        set repos [split $::env(ACCEL_BOARD_REPO) :]
    }
    if {![catch {xhub::get_xstores xilinx_board_store} store] && $store ne ""} {
        lappend repos [get_property LOCAL_ROOT_DIR $store]
    }
    if {[llength $repos]} {
        set_param board.repoPaths $repos
    }
    set part [lindex [get_board_parts -quiet -latest_file_version $::BOARD_PART_PATTERN] 0]
    if {$part eq ""} {
        accel_fail "no board part matches '$::BOARD_PART_PATTERN': install $::BOARD_FILES_HINT"
    }
    set chip [get_property PART_NAME [get_board_parts $part]]
    if {![string equal -nocase $chip $::PART]} {
        accel_fail "board part $part is for $chip but spec $::SPEC_NAME names part $::PART"
    }
    return $part
}

# ---------------------------------------------------------------- step ip: package
# The IP is built from copies of the RTL and the generated header in ONE directory, so
# `include "accel_spec.vh" resolves next to the including file in every tool (packager
# elaboration, the IP's out-of-context synthesis, simulation).
proc ip_repo_dir {} {
    return [file join $::BUILD_DIR ip_repo]
}

proc find_busif_of_port {core port} {
    foreach bif [ipx::get_bus_interfaces -quiet -of_objects $core] {
        foreach pm [ipx::get_port_maps -quiet -of_objects $bif] {
            if {[get_property PHYSICAL_NAME $pm] eq $port} {
                return $bif
            }
        }
    }
    return ""
}

proc set_bus_parameter {bif name value} {
    set p [ipx::get_bus_parameters -quiet $name -of_objects $bif]
    if {$p eq ""} {
        set p [ipx::add_bus_parameter $name $bif]
    }
    set_property VALUE $value $p
}

# Make sure bus interface <name> exists with the given type and port map. The packager
# infers these from the port names (s_axil_*, s_axis_*, m_axis_*, aclk, aresetn, irq); an
# inferred one is renamed and kept, a missing or mistyped one is (re)built from the map.
proc ensure_busif {core name bus_vlnv abs_vlnv mode portmap} {
    set first [lindex $portmap 1]
    set bif [find_busif_of_port $core $first]
    if {$bif ne "" && [get_property BUS_TYPE_VLNV $bif] ne $bus_vlnv} {
        ipx::remove_bus_interface [get_property NAME $bif] $core
        set bif ""
    }
    if {$bif ne ""} {
        if {[get_property NAME $bif] ne $name} {
            set_property NAME $name $bif
        }
        return $bif
    }
    set clash [ipx::get_bus_interfaces -quiet $name -of_objects $core]
    if {$clash ne ""} {
        ipx::remove_bus_interface $name $core
    }
    set bif [ipx::add_bus_interface $name $core]
    set_property BUS_TYPE_VLNV $bus_vlnv $bif
    set_property ABSTRACTION_TYPE_VLNV $abs_vlnv $bif
    set_property INTERFACE_MODE $mode $bif
    foreach {logical physical} $portmap {
        set_property PHYSICAL_NAME $physical [ipx::add_port_map $logical $bif]
    }
    return $bif
}

# The generated header is `include'd by the RTL: mark it an include file in every file group
# of the packaged IP, so the IP's out-of-context synthesis (and simulation) finds it and does not
# compile it as a source of its own.
proc mark_header_include {core name} {
    set marked 0
    foreach group [ipx::get_file_groups -of_objects $core] {
        foreach f [ipx::get_files -quiet -of_objects $group] {
            if {[file tail [get_property NAME $f]] eq $name} {
                set_property IS_INCLUDE true $f
                incr marked
            }
        }
    }
    if {!$marked} {
        accel_fail "the packager did not import $name into $::IP_VLNV (the RTL includes it)"
    }
}

# The accelerator's registers (spec [registers] + counter LO/HI words, ACCEL_REGISTERS and
# ACCEL_REGISTER_FIELDS from the params) in the IP's address block: Vivado then writes them into
# the .hwh, and pynq's register_map exists on the board as it does in the simulator.
proc add_registers {block} {
    set access_of {}
    foreach {name offset access desc} $::ACCEL_REGISTERS {
        set reg [ipx::get_registers -quiet $name -of_objects $block]
        if {$reg eq ""} {
            set reg [ipx::add_register $name $block]
        }
        set_property ADDRESS_OFFSET $offset $reg
        set_property SIZE 32 $reg
        set_property ACCESS $access $reg
        set_property DESCRIPTION $desc $reg
        dict set access_of $name $access
    }
    foreach {rname fname bit width} $::ACCEL_REGISTER_FIELDS {
        if {![dict exists $access_of $rname]} {
            accel_fail "register field $rname.$fname names no register of ACCEL_REGISTERS"
        }
        set field [ipx::add_field $fname [ipx::get_registers $rname -of_objects $block]]
        set_property BIT_OFFSET $bit $field
        set_property BIT_WIDTH $width $field
        set_property ACCESS [dict get $access_of $rname] $field
    }
}

proc package_ip {} {
    set src [file join $::BUILD_DIR ip_src]
    file delete -force $src
    file mkdir $src
    set files {}
    foreach f $::RTL_SOURCES {
        if {![file isfile $f]} {
            accel_fail "RTL source $f is missing"
        }
        file copy -force $f $src
        lappend files [file join $src [file tail $f]]
    }
    if {![file isfile $::SPEC_HEADER]} {
        accel_fail "generated header $::SPEC_HEADER is missing: run scripts/build_bitstream"
    }
    file copy -force $::SPEC_HEADER $src
    set header [file join $src [file tail $::SPEC_HEADER]]

    set root [file join [ip_repo_dir] $::IP_NAME]
    file delete -force $root
    create_project -force accel_ip_pkg [file join $::BUILD_DIR ip_pkg] -part $::PART
    add_files -norecurse $files
    add_files -norecurse $header
    set_property FILE_TYPE {Verilog Header} [get_files $header]
    set_property INCLUDE_DIRS [list $src] [current_fileset]
    set_property TOP $::IP_TOP [current_fileset]
    update_compile_order -fileset sources_1

    ipx::package_project -root_dir $root -vendor $::IP_VENDOR -library $::IP_LIBRARY \
        -taxonomy /UserIP -import_files -set_current true -force
    set core [ipx::current_core]
    mark_header_include $core [file tail $header]
    set_property NAME $::IP_NAME $core
    set_property VERSION $::IP_VERSION $core
    set_property DISPLAY_NAME "pynq-accel int8 matmul ($::SPEC_NAME)" $core
    set_property DESCRIPTION "int8 MAC array behind AXI-Stream + AXI-Lite, spec $::SPEC_NAME\
        hash $::SPEC_HASH" $core
    set_property CORE_REVISION 1 $core

    # Interfaces: the names the block design and the .hwh use.
    ensure_busif $core s_axil xilinx.com:interface:aximm:1.0 xilinx.com:interface:aximm_rtl:1.0 slave {
        AWADDR s_axil_awaddr AWPROT s_axil_awprot AWVALID s_axil_awvalid AWREADY s_axil_awready
        WDATA s_axil_wdata WSTRB s_axil_wstrb WVALID s_axil_wvalid WREADY s_axil_wready
        BRESP s_axil_bresp BVALID s_axil_bvalid BREADY s_axil_bready
        ARADDR s_axil_araddr ARPROT s_axil_arprot ARVALID s_axil_arvalid ARREADY s_axil_arready
        RDATA s_axil_rdata RRESP s_axil_rresp RVALID s_axil_rvalid RREADY s_axil_rready
    }
    ensure_busif $core s_axis xilinx.com:interface:axis:1.0 xilinx.com:interface:axis_rtl:1.0 slave {
        TDATA s_axis_tdata TKEEP s_axis_tkeep TVALID s_axis_tvalid TREADY s_axis_tready TLAST s_axis_tlast
    }
    ensure_busif $core m_axis xilinx.com:interface:axis:1.0 xilinx.com:interface:axis_rtl:1.0 master {
        TDATA m_axis_tdata TKEEP m_axis_tkeep TVALID m_axis_tvalid TREADY m_axis_tready TLAST m_axis_tlast
    }
    set clk [ensure_busif $core aclk xilinx.com:signal:clock:1.0 xilinx.com:signal:clock_rtl:1.0 slave {
        CLK aclk
    }]
    set rst [ensure_busif $core aresetn xilinx.com:signal:reset:1.0 xilinx.com:signal:reset_rtl:1.0 slave {
        RST aresetn
    }]
    set irq [ensure_busif $core irq xilinx.com:signal:interrupt:1.0 xilinx.com:signal:interrupt_rtl:1.0 master {
        INTERRUPT irq
    }]
    set_bus_parameter $clk ASSOCIATED_BUSIF s_axil:s_axis:m_axis
    set_bus_parameter $clk ASSOCIATED_RESET aresetn
    set_bus_parameter $rst POLARITY ACTIVE_LOW
    set_bus_parameter $irq SENSITIVITY LEVEL_HIGH

    # The AXI-Lite register space (2**AXIL_ADDR_WIDTH bytes) as the slave's memory map.
    set axil [ipx::get_bus_interfaces s_axil -of_objects $core]
    set mm_name [get_property SLAVE_MEMORY_MAP_REF $axil]
    if {$mm_name eq "" || [ipx::get_memory_maps -quiet $mm_name -of_objects $core] eq ""} {
        set mm_name s_axil
        if {[ipx::get_memory_maps -quiet $mm_name -of_objects $core] eq ""} {
            ipx::add_memory_map $mm_name $core
        }
        set_property SLAVE_MEMORY_MAP_REF $mm_name $axil
    }
    set mm [ipx::get_memory_maps $mm_name -of_objects $core]
    set blocks [ipx::get_address_blocks -quiet -of_objects $mm]
    if {$blocks eq ""} {
        set blocks [ipx::add_address_block $::ACCEL_ADDRESS_BLOCK $mm]
    }
    set block [lindex $blocks 0]
    if {[get_property NAME $block] ne $::ACCEL_ADDRESS_BLOCK} {
        set_property NAME $::ACCEL_ADDRESS_BLOCK $block
    }
    set_property RANGE [expr {1 << $::AXIL_ADDR_WIDTH}] $block
    set_property WIDTH 32 $block
    set_property USAGE register $block
    add_registers $block

    # Parameter defaults = the spec (the block design sets them again, explicitly).
    foreach {name value} $::ACCEL_PARAMS {
        set found 0
        foreach p [list [ipx::get_user_parameters -quiet $name -of_objects $core] \
                        [ipx::get_hdl_parameters -quiet $name -of_objects $core]] {
            if {$p eq ""} {
                continue
            }
            set found 1
            if {[get_property VALUE_FORMAT $p] eq "bitString"} {
                set bits [get_property VALUE_BIT_STRING_LENGTH $p]
                set_property VALUE [format "0x%0*X" [expr {($bits + 3) / 4}] $value] $p
            } else {
                set_property VALUE $value $p
            }
        }
        if {!$found} {
            accel_fail "$::IP_TOP has no parameter $name (spec.verilog_params() and the RTL disagree)"
        }
    }

    # After every rename and edit above: the GUI file and checksums of the core as renamed, then
    # the packager's own integrity check, which must pass before the core is saved.
    ipx::create_xgui_files $core
    ipx::update_checksums $core
    if {[catch {ipx::check_integrity $core} msg]} {
        accel_fail "the packaged IP $::IP_VLNV fails ipx::check_integrity: $msg"
    }
    ipx::save_core $core
    close_project
    accel_info "packaged $::IP_VLNV into $root"
}

# ------------------------------------------------------------ step bd: block design
proc project_dir {} {
    return [file join $::BUILD_DIR project]
}

proc open_or_create_project {create} {
    set xpr [file join [project_dir] $::OVERLAY_NAME.xpr]
    if {!$create} {
        if {![file isfile $xpr]} {
            accel_fail "no project $xpr: run the 'bd' step first"
        }
        open_project $xpr
        return
    }
    set bp [board_part]
    create_project -force $::OVERLAY_NAME [project_dir] -part $::PART
    set_property BOARD_PART $bp [current_project]
    set_property TARGET_LANGUAGE Verilog [current_project]
    set_property IP_REPO_PATHS [list [ip_repo_dir]] [current_project]
    update_ip_catalog -rebuild
    require_ipdef $::IP_VLNV "the accelerator IP (run the 'ip' step first)"
    accel_info "project [project_dir] for board part $bp"
}

proc accel_cell {vlnv_or_prefix name} {
    if {[llength [split $vlnv_or_prefix :]] == 3} {
        set vlnv [latest_ipdef $vlnv_or_prefix]
        if {$vlnv eq ""} {
            accel_fail "no IP $vlnv_or_prefix:* in the catalog"
        }
    } else {
        set vlnv [require_ipdef $vlnv_or_prefix $name]
    }
    return [create_bd_cell -type ip -vlnv $vlnv $name]
}

proc bd_pin {path} {
    set p [get_bd_pins -quiet $path]
    if {$p eq ""} {
        accel_fail "block design has no pin $path"
    }
    return $p
}

proc bd_ipin {path} {
    set p [get_bd_intf_pins -quiet $path]
    if {$p eq ""} {
        accel_fail "block design has no interface pin $path"
    }
    return $p
}

proc config_dict {d} {
    set out {}
    dict for {k v} $d {
        lappend out CONFIG.$k $v
    }
    return $out
}

proc create_block_design {} {
    set ps $::PS_INSTANCE
    set dma $::DMA_INSTANCE
    set acc $::IP_INSTANCE
    create_bd_design $::OVERLAY_NAME

    # Processing system: the board preset (DDR, MIO, clocks as the PYNQ image expects),
    # then one GP master, one HP slave at the stream width, the fabric clock, no PL interrupt.
    set ps_cell [accel_cell $::PS_VLNV_PREFIX $ps]
    apply_bd_automation -rule $::PS_PRESET_RULE -config $::PS_PRESET_CONFIG $ps_cell
    set_property -dict [config_dict $::PS_CONFIG] $ps_cell

    # AXI DMA 7.1, simple mode, both channels (values: accel.overlays.vivado_params.dma_config).
    set dma_cell [accel_cell $::DMA_VLNV $dma]
    set_property -dict [config_dict $::DMA_CONFIG] $dma_cell

    # The accelerator, parameters from the spec.
    set acc_cell [accel_cell $::IP_VLNV $acc]
    set acc_config {}
    foreach {name value} $::ACCEL_PARAMS {
        set current [get_property CONFIG.$name $acc_cell]
        if {[regexp -nocase {^0x([0-9a-f]+)$} $current -> digits]} {
            set value [format "0x%0*X" [string length $digits] $value]
        }
        lappend acc_config CONFIG.$name $value
    }
    set_property -dict $acc_config $acc_cell

    # Interconnect: control (GP -> DMA registers, accelerator registers), data (DMA -> HP).
    set ctrl [accel_cell xilinx.com:ip:smartconnect ctrl_smc]
    set_property -dict {CONFIG.NUM_SI 1 CONFIG.NUM_MI 2} $ctrl
    # scatter-gather (c_include_sg=1): the DMA's descriptor master M_AXI_SG is a third slave of mem_smc
    set sg [dict get $::DMA_CONFIG c_include_sg]
    set mem [accel_cell xilinx.com:ip:smartconnect mem_smc]
    set_property -dict [list CONFIG.NUM_SI [expr {$sg ? 3 : 2}] CONFIG.NUM_MI 1] $mem
    set rst [accel_cell xilinx.com:ip:proc_sys_reset rst_fabric]

    # Streams: MM2S -> accelerator -> S2MM.
    connect_bd_intf_net [bd_ipin $dma/M_AXIS_MM2S] [bd_ipin $acc/s_axis]
    connect_bd_intf_net [bd_ipin $acc/m_axis] [bd_ipin $dma/S_AXIS_S2MM]
    # Control path.
    connect_bd_intf_net [bd_ipin $ps/$::PS_GP_PORT] [bd_ipin ctrl_smc/S00_AXI]
    connect_bd_intf_net [bd_ipin ctrl_smc/M00_AXI] [bd_ipin $dma/S_AXI_LITE]
    connect_bd_intf_net [bd_ipin ctrl_smc/M01_AXI] [bd_ipin $acc/s_axil]
    # Data path to DDR.
    connect_bd_intf_net [bd_ipin $dma/M_AXI_MM2S] [bd_ipin mem_smc/S00_AXI]
    connect_bd_intf_net [bd_ipin $dma/M_AXI_S2MM] [bd_ipin mem_smc/S01_AXI]
    if {$sg} {
        connect_bd_intf_net [bd_ipin $dma/M_AXI_SG] [bd_ipin mem_smc/S02_AXI]
    }
    connect_bd_intf_net [bd_ipin mem_smc/M00_AXI] [bd_ipin $ps/$::PS_HP_PORT]

    # One clock (the PS fabric clock at FABRIC_MHZ) and its synchronised reset for everything.
    set pins [dict create {*}$::PS_PINS]
    connect_bd_net [bd_pin $ps/[dict get $pins CLK]] \
        [bd_pin $ps/[dict get $pins GP_ACLK]] [bd_pin $ps/[dict get $pins HP_ACLK]] \
        [bd_pin $dma/s_axi_lite_aclk] [bd_pin $dma/m_axi_mm2s_aclk] [bd_pin $dma/m_axi_s2mm_aclk] \
        {*}[if {$sg} {list [bd_pin $dma/m_axi_sg_aclk]}] \
        [bd_pin $acc/aclk] [bd_pin ctrl_smc/aclk] [bd_pin mem_smc/aclk] [bd_pin rst_fabric/slowest_sync_clk]
    connect_bd_net [bd_pin $ps/[dict get $pins RESETN]] [bd_pin rst_fabric/ext_reset_in]
    connect_bd_net [bd_pin rst_fabric/peripheral_aresetn] \
        [bd_pin $dma/axi_resetn] [bd_pin $acc/aresetn]
    connect_bd_net [bd_pin rst_fabric/interconnect_aresetn] [bd_pin ctrl_smc/aresetn] [bd_pin mem_smc/aresetn]

    # No interrupts: the accelerator's irq and the DMA's introut pins stay unconnected and the PS
    # has no PL-to-PS interrupt (PS_CONFIG). pynq only turns interrupts into objects behind an
    # AXI interrupt controller, and the runtime polls with a timeout (docs/BOARD.md).

    # Addresses: the control windows exactly where the spec puts them; the DMA masters see
    # all of DDR through the HP port (assigned automatically).
    set space [get_bd_addr_spaces $ps/Data]
    assign_bd_address -target_address_space $space -offset $::DMA_BASE -range $::DMA_RANGE \
        [get_bd_addr_segs -of_objects [bd_ipin $dma/S_AXI_LITE]] -force
    assign_bd_address -target_address_space $space -offset $::ACCEL_BASE -range $::ACCEL_RANGE \
        [get_bd_addr_segs -of_objects [bd_ipin $acc/s_axil]] -force
    assign_bd_address

    validate_bd_design
    verify_block_design
    save_bd_design
    accel_info "block design $::OVERLAY_NAME built and checked against spec $::SPEC_NAME"
}

# Read back everything the spec fixed: a typo'd CONFIG name or a value Vivado changed while
# validating is found here, not on the board.
proc verify_block_design {} {
    dict for {name value} $::DMA_CONFIG {
        expect_config $::DMA_INSTANCE $name $value
    }
    foreach {name value} $::ACCEL_PARAMS {
        expect_config $::IP_INSTANCE $name $value
    }
    dict for {name value} $::PS_CONFIG {
        if {[string match *FREQMHZ $name]} {
            continue ;# the achievable frequency is checked below
        }
        expect_config $::PS_INSTANCE $name $value
    }
    set vlnv [get_property VLNV [get_bd_cells $::IP_INSTANCE]]
    if {$vlnv ne $::IP_VLNV} {
        accel_fail "$::IP_INSTANCE is $vlnv, the spec (and the runtime's driver) expects $::IP_VLNV"
    }
    set vlnv [get_property VLNV [get_bd_cells $::DMA_INSTANCE]]
    if {$vlnv ne $::DMA_VLNV} {
        accel_fail "$::DMA_INSTANCE is $vlnv, pynq.lib.dma.DMA binds to $::DMA_VLNV"
    }
    set segs [get_bd_addr_segs -of_objects [get_bd_addr_spaces $::PS_INSTANCE/Data]]
    foreach {what base range} [list accelerator $::ACCEL_BASE $::ACCEL_RANGE DMA $::DMA_BASE $::DMA_RANGE] {
        set ok 0
        foreach seg $segs {
            if {[to_int [get_property OFFSET $seg]] == [to_int $base] \
                    && [to_int [get_property RANGE $seg]] == [to_int $range]} {
                set ok 1
            }
        }
        if {!$ok} {
            accel_fail "no $what segment at $base (range $range) in $::PS_INSTANCE/Data after assign_bd_address"
        }
    }
    # The fabric clock the PS can actually make from its PLLs (e.g. 99.999 for 100).
    set clk_pin [get_bd_pins $::PS_INSTANCE/[dict get $::PS_PINS CLK]]
    set hz [get_property CONFIG.FREQ_HZ $clk_pin]
    if {$hz ne "" && abs($hz - $::FABRIC_MHZ * 1e6) > 0.01 * $::FABRIC_MHZ * 1e6} {
        accel_fail "the PS fabric clock is [expr {$hz / 1e6}] MHz, the spec says $::FABRIC_MHZ MHz"
    }
}

# --------------------------------------------------------- step bit: implementation
proc bd_file {} {
    set f [get_files -quiet $::OVERLAY_NAME.bd]
    if {$f eq ""} {
        accel_fail "the project has no block design $::OVERLAY_NAME.bd: run the 'bd' step first"
    }
    return $f
}

proc run_ok {run} {
    return [expr {[get_property PROGRESS [get_runs $run]] eq "100%"}]
}

proc find_hwh {} {
    set design $::OVERLAY_NAME
    foreach sub {gen srcs} {
        set f [file join [project_dir] $design.$sub sources_1 bd $design hw_handoff $design.hwh]
        if {[file isfile $f]} {
            return $f
        }
    }
    accel_fail "no $design.hwh under [project_dir] (generate_target did not write the hardware handoff)"
}

proc build_bitstream {} {
    set bd [bd_file]
    set top ${::OVERLAY_NAME}_wrapper
    if {[get_files -quiet $top.v] eq ""} {
        make_wrapper -files $bd -top -import
    }
    set_property TOP $top [current_fileset]
    update_compile_order -fileset sources_1
    generate_target all $bd

    # A rerun of this step starts clean (resetting synth_1 resets impl_1 with it).
    if {[get_property PROGRESS [get_runs synth_1]] ne "0%"} {
        reset_run synth_1
    }
    launch_runs synth_1 -jobs $::JOBS
    wait_on_run synth_1
    if {![run_ok synth_1]} {
        accel_fail "synthesis failed: see [get_property DIRECTORY [get_runs synth_1]]/runme.log"
    }
    launch_runs impl_1 -to_step write_bitstream -jobs $::JOBS
    wait_on_run impl_1
    if {![run_ok impl_1]} {
        accel_fail "implementation failed: see [get_property DIRECTORY [get_runs impl_1]]/runme.log"
    }

    set impl [get_runs impl_1]
    file mkdir $::OUTPUT_DIR
    open_run impl_1
    set report_base [file join $::BUILD_DIR $::OVERLAY_NAME]
    report_utilization -file ${report_base}_utilization.rpt
    report_timing_summary -file ${report_base}_timing.rpt
    # PYNQ's own gate: the routed timing summary must say every constraint is met (this also
    # catches pulse-width and unconstrained-clock problems that the slack checks below miss).
    set summary [report_timing_summary -no_header -no_detailed_paths -return_string]
    if {![string match "*$::TIMING_MET*" $summary]} {
        accel_fail "timing constraints not met at $::FABRIC_MHZ MHz (the routed timing summary lacks\
              '$::TIMING_MET'): see ${report_base}_timing.rpt; lower clock.fabric_mhz or the array size in the spec"
    }
    # Worst setup and hold slack of the routed design.
    set wns [get_property SLACK [lindex [get_timing_paths -quiet -delay_type max -max_paths 1] 0]]
    set whs [get_property SLACK [lindex [get_timing_paths -quiet -delay_type min -max_paths 1] 0]]
    if {$wns eq "" || $whs eq ""} {
        accel_fail "no timing paths in the routed design: see ${report_base}_timing.rpt"
    }
    if {$wns < 0 || $whs < 0} {
        accel_fail "timing not met at $::FABRIC_MHZ MHz (WNS $wns ns, WHS $whs ns): see ${report_base}_timing.rpt;\
              lower clock.fabric_mhz or the array size in the spec"
    }

    set bit [file join [get_property DIRECTORY $impl] $top.bit]
    if {![file isfile $bit]} {
        accel_fail "implementation finished but $bit is missing"
    }
    set out_bit [file join $::OUTPUT_DIR $::OVERLAY_NAME.bit]
    set out_hwh [file join $::OUTPUT_DIR $::OVERLAY_NAME.hwh]
    file copy -force $bit $out_bit
    file copy -force [find_hwh] $out_hwh
    file copy -force ${report_base}_utilization.rpt [file join $::OUTPUT_DIR $::OVERLAY_NAME.utilization.rpt]
    accel_info "timing met (WNS $wns ns, WHS $whs ns)"
    accel_info "overlay written: $out_bit and $out_hwh"
}

# ----------------------------------------------------------------------------- main
set REQUIRED_PARAMS {
    SPEC_NAME SPEC_HASH SPEC_HASH32 BOARD PART VIVADO_MIN_VERSION PYNQ_IMAGE
    BOARD_PART_PATTERN BOARD_FILES_HINT PS_KIND PS_VLNV_PREFIX PS_INSTANCE PS_HP_PORT PS_GP_PORT
    PS_PINS PS_PRESET_RULE PS_PRESET_CONFIG PS_CONFIG FABRIC_MHZ STREAM_WIDTH
    IP_VLNV IP_VENDOR IP_LIBRARY IP_NAME IP_VERSION IP_TOP IP_INSTANCE ACCEL_PARAMS AXIL_ADDR_WIDTH
    ACCEL_ADDRESS_BLOCK ACCEL_REGISTERS ACCEL_REGISTER_FIELDS ACCEL_BASE ACCEL_RANGE DMA_VLNV DMA_INSTANCE DMA_BASE DMA_RANGE DMA_CONFIG
    RTL_SOURCES SPEC_HEADER BUILD_DIR OUTPUT_DIR OVERLAY_NAME JOBS
}
set ALL_STEPS {ip bd bit}
# What Vivado's report_timing_summary prints when every timing constraint is met.
set TIMING_MET "All user specified timing constraints are met."

proc accel_main {argv} {
    if {[llength $argv] < 1} {
        accel_fail "usage: vivado -mode batch -source build_overlay.tcl -tclargs PARAMS.tcl \[ip\] \[bd\] \[bit\]"
    }
    set params [file normalize [lindex $argv 0]]
    if {![file isfile $params]} {
        accel_fail "params file $params not found: generate it with scripts/build_bitstream"
    }
    uplevel #0 [list source $params]
    check_params
    set steps [lrange $argv 1 end]
    if {![llength $steps]} {
        set steps $::ALL_STEPS
    }
    foreach step $steps {
        if {$step ni $::ALL_STEPS} {
            accel_fail "unknown step '$step' (steps: $::ALL_STEPS)"
        }
    }
    check_vivado_version
    file mkdir $::BUILD_DIR
    if {"ip" in $steps} {
        package_ip
    }
    if {"bd" in $steps} {
        open_or_create_project 1
        create_block_design
    }
    if {"bit" in $steps} {
        if {"bd" ni $steps} {
            open_or_create_project 0
        }
        build_bitstream
    }
}

accel_main $argv
