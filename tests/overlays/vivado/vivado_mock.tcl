# A recording stand-in for the Vivado Tcl commands build_overlay.tcl uses, for tclsh.
#
#   tclsh vivado_mock.tcl BUILD_TCL LOG_FILE PARAMS.tcl [STEP ...]
#
# Not Vivado: it cannot say whether Vivado accepts a property. What it does check off-board:
# the script parses, every variable it reads exists, every command it calls is one this
# mock knows (an unknown command is an error), every block-design pin it asks for exists on
# that IP (pin tables below, from the IPs' documented port names), the IP's parameters exist
# in the RTL (MOCK_RTL_PARAMS), and what it sets and connects is written to LOG_FILE as
# tab-separated records for the pytest to compare with the spec:
#   cell NAME VLNV | prop OBJ NAME VALUE | intf_net A B | net PIN... | addr SPACE SEG OFFSET RANGE
#   add_file PATH | top NAME | busif NAME BUS_VLNV MODE | portmap BUSIF LOGICAL PHYSICAL
#   busparam BUSIF NAME VALUE | ipparam NAME VALUE | catalog VLNV | output PATH | fail MESSAGE
#   register NAME OFFSET SIZE ACCESS DESCRIPTION | field REGISTER NAME BIT WIDTH ACCESS
#   include FILE | ipx STEP (create_xgui_files, update_checksums, check_integrity, save_core)
#   timing_summary (the -return_string report the gate read)
# Environment: MOCK_RTL_PARAMS (the RTL's parameter names), MOCK_TIMING_SUMMARY (what
# report_timing_summary -return_string returns; default: all constraints met),
# MOCK_INTEGRITY_ERROR (ipx::check_integrity fails with this message).

set BUILD_TCL [lindex $argv 0]
set LOG [open [lindex $argv 1] w]
set argv [lrange $argv 2 end]
set argc [llength $argv]

proc rec {args} {
    puts $::LOG [join $args "\t"]
    flush $::LOG
}

# exit from the script under test becomes an error of this run
rename exit _real_exit
proc exit {{code 0}} {
    if {$code != 0} {
        error "vivado-mock: script exited with status $code"
    }
    _real_exit 0
}

# -quiet / -all style flags are dropped; "-opt value" pairs returned as a dict plus positionals
proc parse_args {spec argl} {
    set opts {}
    set pos {}
    for {set i 0} {$i < [llength $argl]} {incr i} {
        set a [lindex $argl $i]
        if {[string index $a 0] eq "-" && ![string is double -strict $a]} {
            set name [string range $a 1 end]
            if {$name in $spec} {
                incr i
                dict set opts $name [lindex $argl $i]
            } else {
                dict set opts $name 1
            }
        } else {
            lappend pos $a
        }
    }
    return [list $opts $pos]
}

array set PROP {}
array set CELLS {}
set CATALOG {
    xilinx.com:ip:processing_system7:5.5
    xilinx.com:ip:zynq_ultra_ps_e:3.5
    xilinx.com:ip:zynq_ultra_ps_e:3.4
    xilinx.com:ip:axi_dma:7.1
    xilinx.com:ip:smartconnect:1.0
    xilinx.com:ip:proc_sys_reset:5.0
    xilinx.com:ip:xlconcat:2.1
}
set BOARD_PARTS {
    tul.com.tw:pynq-z2:part0:1.0 xc7z020clg400-1
    xilinx.com:kv260_som:part0:1.4 xck26-sfvc784-2LV-c
}
set FILES {}
set SEGS {}
set RUN_PROGRESS [dict create synth_1 0% impl_1 0%]
set RTL_PARAMS [expr {[info exists env(MOCK_RTL_PARAMS)] ? $env(MOCK_RTL_PARAMS) : {}}]

# ------------------------------------------------------------------ projects, files
proc version {args} { return 2024.1 }
proc create_project {args} {
    lassign [parse_args {part} $args] opts pos
    set ::PROJECT [lindex $pos 0]
    set ::PROJECT_DIR [lindex $pos 1]
    file mkdir $::PROJECT_DIR
    rec project $::PROJECT [dict get $opts part]
}
proc open_project {path} { rec open_project $path }
proc close_project {args} { rec close_project }
proc current_project {args} { return project:$::PROJECT }
proc current_fileset {args} { return sources_1 }
proc set_param {name value} { rec param $name $value }
proc update_compile_order {args} {}
proc update_ip_catalog {args} {
    # the IP repositories of the project: each packaged core's component.xml names its VLNV
    foreach dir [expr {[info exists ::PROP(project:$::PROJECT,IP_REPO_PATHS)] ? $::PROP(project:$::PROJECT,IP_REPO_PATHS) : {}}] {
        foreach xml [glob -nocomplain -directory $dir */component.xml] {
            set fh [open $xml]
            set vlnv [string trim [read $fh]]
            close $fh
            if {$vlnv ni $::CATALOG} {
                lappend ::CATALOG $vlnv
            }
        }
    }
}
proc add_files {args} {
    lassign [parse_args {fileset} $args] opts pos
    foreach f [concat {*}$pos] {
        if {![file exists $f]} {
            error "add_files: $f does not exist"
        }
        lappend ::FILES $f
        rec add_file $f
    }
}
proc get_files {args} {
    lassign [parse_args {of_objects filter} $args] opts pos
    set out {}
    foreach pat $pos {
        foreach f $::FILES {
            if {$f eq $pat || [file tail $f] eq $pat} {
                lappend out $f
            }
        }
    }
    if {$out eq "" && ![dict exists $opts quiet]} {
        error "get_files: no file matches $pos"
    }
    return $out
}

# ------------------------------------------------------------------ properties
proc set_property {args} {
    lassign [parse_args {dict} $args] opts pos
    if {[dict exists $opts dict]} {
        set obj [lindex $pos 0]
        foreach {k v} [dict get $opts dict] {
            set_one $obj $k $v
        }
    } else {
        lassign $pos name value obj
        set_one $obj $name $value
    }
}
proc set_one {obj name value} {
    if {$obj eq ""} {
        error "set_property $name on an empty object"
    }
    set name [string toupper $name 0 [expr {[string first . $name] > 0 ? [string first . $name] - 1 : "end"}]]
    set ::PROP($obj,$name) $value
    rec prop $obj $name $value
    if {[string match busif:* $obj] && $name eq "NAME"} {
        error "vivado-mock: renaming bus interfaces is not modelled"
    }
}
proc get_property {name obj} {
    set uname [string toupper $name 0 [expr {[string first . $name] > 0 ? [string first . $name] - 1 : "end"}]]
    if {[info exists ::PROP($obj,$uname)]} {
        return $::PROP($obj,$uname)
    }
    switch -glob -- "$uname|$obj" {
        "VLNV|/*" { return $::CELLS([string range $obj 1 end]) }
        "PART_NAME|*" { return [dict get $::BOARD_PARTS $obj] }
        "LOCAL_ROOT_DIR|*" { return "" }
        "PROGRESS|run:*" { return [dict get $::RUN_PROGRESS [string range $obj 4 end]] }
        "DIRECTORY|run:*" {
            return [file join $::PROJECT_DIR $::PROJECT.runs [string range $obj 4 end]]
        }
        "SLACK|path:*" { return 0.125 }
        "CONFIG.FREQ_HZ|/*/*" { return [ps_clock_hz] }
        "CONFIG.SPEC_HASH|/*" { return 0x00000000 }
        "CONFIG.*|/*" { return "" }
        "VALUE_FORMAT|param:*SPEC_HASH" { return bitString }
        "VALUE_FORMAT|param:*" { return long }
        "VALUE_BIT_STRING_LENGTH|param:*" { return 32 }
        "BUS_TYPE_VLNV|busif:*" { return $::PROP($obj,BUS_TYPE_VLNV) }
        "NAME|busif:*" { return [string range $obj 6 end] }
        "NAME|ab:*" { return [lindex [split $obj :] end] }
        "NAME|ipfile:*" { return [string range $obj 7 end] }
        "SLAVE_MEMORY_MAP_REF|busif:*" { return "" }
    }
    error "vivado-mock: get_property $name of $obj is not modelled"
}
proc ps_clock_hz {} {
    foreach key {PCW_FPGA0_PERIPHERAL_FREQMHZ PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ} {
        foreach cell [array names ::CELLS] {
            if {[info exists ::PROP(/$cell,CONFIG.$key)]} {
                # what a PLL makes of it: a hair below the request
                return [expr {$::PROP(/$cell,CONFIG.$key) * 1e6 * 0.99999}]
            }
        }
    }
    error "vivado-mock: no PS fabric clock configured"
}

# ------------------------------------------------------------------ boards, IP catalog
namespace eval xhub {
    proc get_xstores {args} { return "" }
}
proc get_board_parts {args} {
    lassign [parse_args {} $args] opts pos
    set out {}
    foreach {bp chip} $::BOARD_PARTS {
        if {[string match [lindex $pos 0] $bp]} {
            lappend out $bp
        }
    }
    return $out
}
proc get_ipdefs {args} {
    lassign [parse_args {filter} $args] opts pos
    set out {}
    foreach vlnv $::CATALOG {
        if {[string match [lindex $pos 0] $vlnv]} {
            lappend out $vlnv
        }
    }
    return $out
}

# ------------------------------------------------------------------ IP packager
namespace eval ipx {
    variable core ""
    variable busifs {}
    variable portmaps {}
    variable memmaps {}
    variable blocks {}
    variable busparams {}
    variable vendor ""
    variable library ""
    proc package_project {args} {
        variable core
        variable vendor
        variable library
        lassign [::parse_args {root_dir vendor library taxonomy set_current} $args] opts pos
        set vendor [dict get $opts vendor]
        set library [dict get $opts library]
        set core core:[dict get $opts root_dir]
        file mkdir [dict get $opts root_dir]
        ::rec package_project [dict get $opts root_dir] $vendor $library
    }
    proc current_core {args} { variable core; return $core }
    proc of {args} {
        lassign [::parse_args {of_objects} $args] opts pos
        return [list [dict get $opts of_objects] [lindex $pos 0]]
    }
    proc get_bus_interfaces {args} {
        variable busifs
        lassign [of {*}$args] obj name
        set out {}
        foreach b $busifs {
            if {$name eq "" || $b eq "busif:$name"} {
                lappend out $b
            }
        }
        return $out
    }
    proc add_bus_interface {name core} {
        variable busifs
        lappend busifs busif:$name
        return busif:$name
    }
    proc remove_bus_interface {name core} {
        variable busifs
        set busifs [lsearch -all -inline -not -exact $busifs busif:$name]
    }
    proc add_port_map {logical bif} {
        variable portmaps
        dict lappend portmaps $bif pm:$bif:$logical
        return pm:$bif:$logical
    }
    proc get_port_maps {args} {
        variable portmaps
        lassign [of {*}$args] obj name
        if {[dict exists $portmaps $obj]} {
            return [dict get $portmaps $obj]
        }
        return {}
    }
    proc get_bus_parameters {args} {
        variable busparams
        lassign [of {*}$args] obj name
        return [expr {"bp:$obj:$name" in $busparams ? "bp:$obj:$name" : ""}]
    }
    proc add_bus_parameter {name bif} {
        variable busparams
        lappend busparams bp:$bif:$name
        return bp:$bif:$name
    }
    proc get_memory_maps {args} {
        variable memmaps
        lassign [of {*}$args] obj name
        return [expr {"mm:$name" in $memmaps ? "mm:$name" : ""}]
    }
    proc add_memory_map {name core} {
        variable memmaps
        lappend memmaps mm:$name
        return mm:$name
    }
    proc get_address_blocks {args} {
        variable blocks
        lassign [of {*}$args] obj name
        if {[dict exists $blocks $obj]} {
            return [dict get $blocks $obj]
        }
        return {}
    }
    proc add_address_block {name mm} {
        variable blocks
        dict lappend blocks $mm ab:$mm:$name
        return ab:$mm:$name
    }
    proc get_user_parameters {args} {
        lassign [of {*}$args] obj name
        return [expr {$name in $::RTL_PARAMS ? "param:user:$name" : ""}]
    }
    proc get_hdl_parameters {args} {
        lassign [of {*}$args] obj name
        return [expr {$name in $::RTL_PARAMS ? "param:hdl:$name" : ""}]
    }
    # package_project -import_files copies the project's files into <root>/src, one file group
    # each for synthesis and simulation
    proc get_file_groups {args} {
        return {fg:xilinx_anylanguagesynthesis fg:xilinx_anylanguagebehavioralsimulation}
    }
    proc get_files {args} {
        set out {}
        foreach f $::FILES {
            if {[string match */ip_src/* $f]} {
                lappend out ipfile:src/[file tail $f]
            }
        }
        return $out
    }
    variable registers {}
    proc get_registers {args} {
        variable registers
        lassign [of {*}$args] obj name
        return [expr {"reg:$obj:$name" in $registers ? "reg:$obj:$name" : ""}]
    }
    proc add_register {name block} {
        variable registers
        if {"reg:$block:$name" in $registers} {
            error "ipx::add_register: $name exists in $block"
        }
        lappend registers reg:$block:$name
        return reg:$block:$name
    }
    variable fields {}
    proc add_field {name reg} {
        variable fields
        if {$reg eq ""} {
            error "ipx::add_field $name on no register"
        }
        lappend fields fld:$reg:$name
        return fld:$reg:$name
    }
    proc create_xgui_files {core} { ::rec ipx create_xgui_files }
    proc update_checksums {core} { ::rec ipx update_checksums }
    proc check_integrity {core} {
        ::rec ipx check_integrity
        if {[info exists ::env(MOCK_INTEGRITY_ERROR)]} {
            error $::env(MOCK_INTEGRITY_ERROR)
        }
    }
    proc save_core {core} {
        variable registers
        variable fields
        ::rec ipx save_core
        foreach r $registers {
            ::rec register [lindex [split $r :] end] $::PROP($r,ADDRESS_OFFSET) $::PROP($r,SIZE) $::PROP($r,ACCESS) \
                $::PROP($r,DESCRIPTION)
        }
        foreach f $fields {
            set parts [split $f :]
            ::rec field [lindex $parts end-1] [lindex $parts end] $::PROP($f,BIT_OFFSET) $::PROP($f,BIT_WIDTH) \
                $::PROP($f,ACCESS)
        }
        foreach g [get_file_groups] {
            foreach f [get_files -of_objects $g] {
                if {[info exists ::PROP($f,IS_INCLUDE)] && $::PROP($f,IS_INCLUDE)} {
                    ::rec include [lindex [split $g :] end] [string range $f 7 end]
                }
            }
        }
        variable vendor
        variable library
        variable busifs
        variable portmaps
        variable busparams
        set vlnv $vendor:$library:$::PROP($core,NAME):$::PROP($core,VERSION)
        set fh [open [file join [string range $core 5 end] component.xml] w]
        puts $fh $vlnv
        close $fh
        set ::IP_PINS [list $busifs]
        set pins [open [file join [string range $core 5 end] mock_busifs.tcl] w]
        foreach b $busifs {
            puts $pins [list set ::PROP($b,BUS_TYPE_VLNV) $::PROP($b,BUS_TYPE_VLNV)]
        }
        puts $pins [list set ::IP_PINS $::IP_PINS]
        close $pins
        ::rec catalog $vlnv
        foreach b $busifs {
            ::rec busif [string range $b 6 end] $::PROP($b,BUS_TYPE_VLNV) $::PROP($b,INTERFACE_MODE)
            if {[dict exists $portmaps $b]} {
                foreach pm [dict get $portmaps $b] {
                    ::rec portmap [string range $b 6 end] [lindex [split $pm :] end] $::PROP($pm,PHYSICAL_NAME)
                }
            }
        }
        foreach bp $busparams {
            lassign [split $bp :] _ _ b name
            ::rec busparam $b $name $::PROP($bp,VALUE)
        }
        foreach p $::RTL_PARAMS {
            if {[info exists ::PROP(param:user:$p,VALUE)]} {
                ::rec ipparam $p $::PROP(param:user:$p,VALUE)
            }
        }
    }
}

# ------------------------------------------------------------------ block design
# Pins of each IP (the names its product guide documents); smartconnect/xlconcat counts
# follow the NUM_* properties the script set.
proc cell_pins {cell} {
    set vlnv $::CELLS($cell)
    set name [lindex [split $vlnv :] 2]
    switch -- $name {
        processing_system7 {
            return {intf {M_AXI_GP0 S_AXI_HP0 DDR FIXED_IO}
                    pins {FCLK_CLK0 FCLK_RESET0_N M_AXI_GP0_ACLK S_AXI_HP0_ACLK IRQ_F2P}}
        }
        zynq_ultra_ps_e {
            return {intf {M_AXI_HPM0_FPD S_AXI_HP0_FPD}
                    pins {pl_clk0 pl_resetn0 maxihpm0_fpd_aclk saxihp0_fpd_aclk pl_ps_irq0}}
        }
        axi_dma {
            # scatter-gather (CONFIG.c_include_sg 1) adds the descriptor master and its clock
            set sg [expr {[info exists ::PROP(/$cell,CONFIG.c_include_sg)] && $::PROP(/$cell,CONFIG.c_include_sg)}]
            set intf {S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM}
            set pins {s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk axi_resetn mm2s_introut s2mm_introut}
            if {$sg} { lappend intf M_AXI_SG; lappend pins m_axi_sg_aclk }
            return [list intf $intf pins $pins]
        }
        smartconnect {
            set intf {}
            for {set i 0} {$i < $::PROP(/$cell,CONFIG.NUM_SI)} {incr i} { lappend intf [format S%02d_AXI $i] }
            for {set i 0} {$i < $::PROP(/$cell,CONFIG.NUM_MI)} {incr i} { lappend intf [format M%02d_AXI $i] }
            return [list intf $intf pins {aclk aresetn}]
        }
        proc_sys_reset {
            return {intf {} pins {slowest_sync_clk ext_reset_in peripheral_aresetn interconnect_aresetn dcm_locked}}
        }
        xlconcat {
            set pins dout
            for {set i 0} {$i < $::PROP(/$cell,CONFIG.NUM_PORTS)} {incr i} { lappend pins In$i }
            return [list intf {} pins $pins]
        }
    }
    if {$vlnv eq $::IP_VLNV && ![info exists ::IP_PINS]} {
        foreach f [glob -nocomplain -directory [file join $::BUILD_DIR ip_repo] */mock_busifs.tcl] {
            source $f
        }
    }
    if {$vlnv eq $::IP_VLNV} {
        # the packaged core's bus interfaces: buses are interface pins, signals are pins
        set intf {}
        set pins {}
        foreach b [lindex $::IP_PINS 0] {
            set bname [string range $b 6 end]
            if {[string match xilinx.com:signal:* $::PROP($b,BUS_TYPE_VLNV)]} {
                lappend pins $bname
            } else {
                lappend intf $bname
            }
        }
        return [list intf $intf pins $pins]
    }
    error "vivado-mock: no pin table for $vlnv"
}
proc create_bd_design {name} {
    set ::BD $name
    set f [file join $::PROJECT_DIR $::PROJECT.srcs sources_1 bd $name $name.bd]
    file mkdir [file dirname $f]
    close [open $f w]
    lappend ::FILES $f
    rec bd_design $name
}
proc create_bd_cell {args} {
    lassign [parse_args {type vlnv} $args] opts pos
    set vlnv [dict get $opts vlnv]
    if {$vlnv ni $::CATALOG} {
        error "create_bd_cell: $vlnv is not in the catalog"
    }
    set name [lindex $pos 0]
    if {[info exists ::CELLS($name)]} {
        error "create_bd_cell: $name exists"
    }
    set ::CELLS($name) $vlnv
    rec cell $name $vlnv
    return /$name
}
proc get_bd_cells {args} {
    lassign [parse_args {} $args] opts pos
    set name [string trimleft [lindex $pos 0] /]
    return [expr {[info exists ::CELLS($name)] ? "/$name" : ""}]
}
proc apply_bd_automation {args} {
    lassign [parse_args {rule config} $args] opts pos
    rec automation [dict get $opts rule] [dict get $opts config] [lindex $pos 0]
}
proc lookup_pin {kind path} {
    lassign [split [string trimleft $path /] /] cell pin
    if {![info exists ::CELLS($cell)]} {
        return ""
    }
    return [expr {$pin in [dict get [cell_pins $cell] $kind] ? "/$cell/$pin" : ""}]
}
proc get_bd_pins {args} {
    lassign [parse_args {} $args] opts pos
    return [lookup_pin pins [lindex $pos 0]]
}
proc get_bd_intf_pins {args} {
    lassign [parse_args {} $args] opts pos
    return [lookup_pin intf [lindex $pos 0]]
}
set USED_INTF {}
proc connect_bd_intf_net {args} {
    lassign [parse_args {intf_net} $args] opts pos
    if {[llength $pos] != 2 || "" in $pos} {
        error "connect_bd_intf_net needs two interface pins, got '$pos'"
    }
    foreach p $pos {
        if {$p in $::USED_INTF} {
            error "interface pin $p connected twice"
        }
        lappend ::USED_INTF $p
    }
    rec intf_net {*}$pos
}
proc connect_bd_net {args} {
    lassign [parse_args {net} $args] opts pos
    if {[llength $pos] < 2 || "" in $pos} {
        error "connect_bd_net needs two or more pins, got '$pos'"
    }
    rec net {*}$pos
}
proc get_bd_addr_spaces {path} {
    lassign [split [string trimleft $path /] /] cell space
    if {![info exists ::CELLS($cell)] || $space ne "Data"} {
        return ""
    }
    return /$cell/Data
}
proc get_bd_addr_segs {args} {
    lassign [parse_args {of_objects} $args] opts pos
    set obj [dict get $opts of_objects]
    if {[string match */Data $obj]} {
        set out {}
        foreach {seg space} $::SEGS {
            if {$space eq $obj} {
                lappend out $seg
            }
        }
        return $out
    }
    # a slave interface pin: its register block
    return $obj/Reg
}
proc assign_bd_address {args} {
    lassign [parse_args {target_address_space offset range} $args] opts pos
    if {![dict exists $opts offset]} {
        rec addr_auto
        return
    }
    set space [dict get $opts target_address_space]
    set slave [lindex $pos 0]
    set seg $space/SEG_[string map {/ _} [string trimleft $slave /]]
    lappend ::SEGS $seg $space
    set ::PROP($seg,OFFSET) [dict get $opts offset]
    # Vivado shows ranges as sizes (64K)
    set ::PROP($seg,RANGE) [expr {[dict get $opts range] >> 10}]K
    rec addr $space $slave [dict get $opts offset] [dict get $opts range]
}
proc validate_bd_design {args} { rec validate }
proc save_bd_design {args} {}

# ------------------------------------------------------------------ runs
proc make_wrapper {args} {
    set f [file join $::PROJECT_DIR ${::BD}_wrapper.v]
    close [open $f w]
    lappend ::FILES $f
}
proc generate_target {args} {
    set f [file join $::PROJECT_DIR $::PROJECT.gen sources_1 bd $::BD hw_handoff $::BD.hwh]
    file mkdir [file dirname $f]
    set fh [open $f w]
    puts $fh "<!-- mock hwh -->"
    close $fh
}
proc get_runs {name} { return run:$name }
proc reset_run {name} { dict set ::RUN_PROGRESS $name 0% }
proc launch_runs {args} {
    lassign [parse_args {jobs to_step} $args] opts pos
    set run [lindex $pos 0]
    dict set ::RUN_PROGRESS $run 100%
    if {$run eq "impl_1"} {
        set dir [get_property DIRECTORY run:impl_1]
        file mkdir $dir
        set fh [open [file join $dir [get_property TOP sources_1].bit] w]
        puts $fh "mock bitstream"
        close $fh
    }
    rec launch $run
}
proc wait_on_run {run} {}
proc open_run {run} {}
proc report_utilization {args} {
    lassign [parse_args {file} $args] opts pos
    close [open [dict get $opts file] w]
}
proc report_timing_summary {args} {
    lassign [parse_args {file} $args] opts pos
    if {[dict exists $opts return_string]} {
        set text "Design Timing Summary\n\nAll user specified timing constraints are met."
        if {[info exists ::env(MOCK_TIMING_SUMMARY)]} {
            set text $::env(MOCK_TIMING_SUMMARY)
        }
        rec timing_summary
        return $text
    }
    close [open [dict get $opts file] w]
}
proc get_timing_paths {args} { return [list path:worst] }

# ------------------------------------------------------------------ run the script
rename file _real_file
proc file {sub args} {
    set r [_real_file $sub {*}$args]
    if {$sub eq "copy"} {
        rec output [lindex $args end]
    }
    return $r
}
if {[catch {source $BUILD_TCL} err opts]} {
    rec fail $err
    puts stderr "vivado-mock: $err"
    puts stderr [dict get $opts -errorinfo]
    close $LOG
    _real_exit 1
}
close $LOG
_real_exit 0
