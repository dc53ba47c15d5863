"""Words of maintenance text that are never part of a person's name.

spaCy's small model reads a capitalised component, failure or place ("Woodward Governor",
"Leak Detection", "Clamp Broken", "Engine Room B") as a PERSON. A span with one of these words in
it names a thing, not someone. The vocabulary is general plant maintenance English (components,
parts, materials, fluids, places, failure modes and mechanisms, work done, measurements), the
kind ISO 14224 and MaintIE describe; words that are also common names or surnames (Bush, Wood,
Mills, Wells, Burns, Hall, Gates, Rod, Jack, Cam, Mark, Stone, Frost, Park) are left out on purpose,
so that "Kate Bush replaced the filter" still masks her.
"""

from __future__ import annotations

TECHNICAL_WORDS = frozenset("""
absorber accumulator actuator adapter adaptor aftercooler agitator airlock alarm alternator ammeter amplifier
anchor annunciator anode antenna arm armature arrester assembly auger axle
baffle bailer balance ballast band barrel baseplate battery beam bearing bellow bellows belt bend blade blanket
bleed blender blower board body boiler bolt bonnet boom boost booster bore bracket brake breaker breather brush
bucket buffer bund burner busbar bushing bypass
cabinet cable cage caliper canister cap capacitor carburettor carburetor carrier cartridge casing castor
catalyst cathode cell centrifuge chain chamber channel charger chassis check chiller chimney choke chute
circuit clamp clutch coil collar collector column combustor commutator compensator condenser conductor connector
contactor container controller converter coolant cooler core counterweight coupling cover crane crankcase
crankshaft crusher cyclone cylinder
damper dashboard deaerator deck decanter demister detector diaphragm diffuser digester disc disk dispenser
distributor diverter door drain drive driveshaft drum dryer duct dynamo
economiser economizer ejector electrode element elevator enclosure encoder engine evaporator exchanger exciter
exhaust expander extractor
fairing fastener feeder fender filter fin fitting flange flap flowmeter flywheel foundation frame fuse
gasket gauge gear gearbox generator gimbal gland governor grate grid grinder grommet guard guide
handler handle hanger harness header heater hinge hoist hopper hose housing hub hydrant
idler igniter impeller indicator inductor injector insulator intake intercooler interlock inverter
jacket joint junction
key keyway kiln knuckle
ladder lamp lance latch lead lever lifter lifting light limiter line liner lining link linkage loader lock
louvre louver lubricator lug
magnet main manhole manifold manometer mast mechanism membrane meter mixer module monitor motor mount
mounting muffler
nacelle nozzle nut
orifice outlet overload
pad panel pawl pedal pin pinion pipe pipework piping piston plate platform plug plunger pole port positioner
probe propeller propshaft pulley pulveriser pulverizer pump purifier
rack radiator rail ram reactor receiver reclaimer rectifier reducer reel regulator relay reservoir resistor
retainer rheostat ring riser roller rope rotor
saddle scraper screen screw scrubber seal seat sensor separator servo shaft shackle sheave shell shield shim
shoe shroud shutter silencer skid sleeve slide slinger socket solenoid spindle splitter spool sprocket
sprayer spring sprinkler stack stabiliser stabilizer starter stator stem strainer strut stud sump supply
switch switchgear switchboard
tank tappet terminal thermocouple thermostat thermowell thruster tie timer tower transducer transformer
transmission transmitter trap tray trunnion tube tubing turbine turbo turbocharger turret tyre tire
undercarriage unloader
valve vane vent ventilator vessel
washer weld wheel winch winding wire wiring
yoke
acid air alloy aluminium aluminum ammonia antifreeze brass bronze carbon ceramic chrome concrete copper diesel
fluid freon fuel gas gasoline glycol graphite hydraulic hydrogen iron kerosene lube lubricant nitrogen nylon
oxygen petrol plastic polymer refrigerant rubber silicone slurry solvent steam steel teflon titanium
abrasion blockage breakage breakdown buckling burnout clog clogging contamination corrosion crack cracking
creep damage defect deformation degradation delamination deposit deterioration discharge dislodged
displacement distortion erosion failure fatigue fault flooding fouling fracture friction fume imbalance
jam leak leakage looseness loss malfunction misalignment misfire noise obstruction overcurrent overfill
overflow overheat overheating overpressure overspeed overtemperature overvoltage oxidation pitting puncture
rupture rust scaling scoring seizure shortage short spalling spill stall stoppage surge tear trip
undervoltage unbalance vibration wear wobble
adjust adjustment align alignment analysis assess calibrate calibration change changeout check clean cleaning
commission commissioning detection diagnose diagnostic disassemble dismantle drain flush grease greasing
inspect inspection install installation investigate investigation isolate isolation lubricate lubrication
measure modify modification monitor overhaul patch purge rebuild recalibrate recharge refill reinstall
reinstate remove removal repair replace replacement reset restart retighten retrofit rewind service
servicing shutdown startup swap test testing tighten torque transfer troubleshoot upgrade weld welding
amperage capacity clearance current density flow frequency head humidity level levels load pressure speed
temperature tension torque velocity viscosity voltage
basement bay cellar compartment corridor deck floor gallery hangar kitchen landing mezzanine pit
platform roof shed substation tunnel yard zone
axial radial lateral lower upper inner outer front rear left right forward aft inboard outboard primary
secondary auxiliary standby spare main
broken worn loose bent burnt seized stuck faulty defective missing excessive abnormal erratic intermittent
inoperative unserviceable
babbitt whitemetal freq approach basin rip stage cell block plummer pillow
report reported confirm confirmed noted observed found stopped started tripped failed
""".split())  # fmt: skip


# The same vocabulary as plants in other languages write it (German, Dutch, French, Spanish, Italian,
# Portuguese, Polish, Swedish, Norwegian, Danish): "Pumpe an P-101 undicht" names no one.
FOREIGN_TECHNICAL_WORDS = frozenset("""
pumpe kreiselpumpe pumpen kolbenpumpe dosierpumpe tauchpumpe ventil ventile schieber klappe absperrklappe lager
wälzlager gleitlager kupplung getriebe motor motoren antrieb welle dichtung gleitringdichtung packung verdichter
kompressor gebläse lüfter ventilator behälter tank kessel wärmetauscher rohr rohrleitung leitung flansch schraube
mutter filter sieb sensor messumformer schalter schütz sicherung umrichter frequenzumrichter steuerung störung
ausfall wartung instandhaltung inspektion schmierung schmierstoff öl fett leckage undicht verschleiß schwingung
schwingungen temperatur druck durchfluss füllstand drehzahl strom spannung riemen kette zahnrad laufrad gehäuse
pomp pompen klep kleppen afsluiter lager lagers koppeling tandwielkast aandrijving as afdichting compressor
ventilator storing onderhoud smering lekkage trilling
pompe pompes vanne vannes robinet clapet roulement roulements palier accouplement réducteur moteur arbre joint
garniture compresseur ventilateur échangeur cuve réservoir tuyauterie bride filtre capteur disjoncteur variateur
panne défaut entretien maintenance graissage fuite vibration usure
bomba bombas válvula valvula válvulas rodamiento rodamientos cojinete acoplamiento reductor motor eje sello
empaquetadura compresor ventilador intercambiador depósito tubería brida filtro sensor interruptor variador
avería falla mantenimiento lubricación fuga vibración desgaste
pompa pompe valvola valvole cuscinetto cuscinetti giunto riduttore motore albero tenuta guarnizione compressore
ventilatore scambiatore serbatoio tubazione flangia filtro sensore interruttore inverter guasto manutenzione
lubrificazione perdita vibrazione usura
bomba rolamento rolamentos acoplamento redutor eixo selo vedação compressor ventilador trocador tanque tubulação
flange filtro sensor disjuntor inversor falha manutenção lubrificação vazamento vibração desgaste
pompa zawór zawory łożysko łożyska sprzęgło przekładnia silnik wał uszczelnienie uszczelka sprężarka wentylator
wymiennik zbiornik rurociąg kołnierz filtr czujnik wyłącznik falownik awaria usterka konserwacja smarowanie
wyciek drgania zużycie
pump pumpar ventil ventiler lager koppling växellåda motor axel tätning kompressor fläkt värmeväxlare tank rör
fläns filter givare brytare frekvensomriktare fel haveri underhåll smörjning läckage vibration slitage
pumpe ventil lager kobling gir aksel pakning tetning kompressor vifte varmeveksler lekkasje vedlikehold
""".split())  # fmt: skip


# People's names that name a method, a unit, a part or a test in plant text ("Karl Fischer water", a
# "Bourdon tube", a "Woodruff key", a "Pelton wheel"): followed by a technical word they name no one.
EPONYMS = frozenset("""
fischer murphy bourdon pitot venturi wheatstone kelvin celsius fahrenheit newton pascal ohm hertz coulomb joule
kaplan francis pelton stirling diesel otto wankel bunsen geiger pareto weibull ishikawa gantt ziegler nichols
brinell rockwell vickers charpy izod reynolds bernoulli darcy fourier nyquist bode kalman mohr poisson hooke euler
doppler faraday lenz tesla morse woodruff belleville schrader presta zerk alemite nyloc allen phillips torx
""".split())  # fmt: skip
EPONYM_PHRASES = frozenset({"karl fischer", "ziegler nichols", "ziegler-nichols", "allen key", "phillips head"})


def technical(word: str) -> bool:
    """True when ``word`` (any case, simply inflected: Seals, Cracked, Leaking, Blockages) is one of
    :data:`TECHNICAL_WORDS`."""
    w = word.casefold().strip(".,:;'’()[]")
    if w in TECHNICAL_WORDS or w in FOREIGN_TECHNICAL_WORDS:
        return True
    stems = []
    if w.endswith("ies") and len(w) > 4:
        stems.append(w[:-3] + "y")
    if w.endswith("es") and len(w) > 4:
        stems.append(w[:-2])
    if w.endswith("s") and len(w) > 3:
        stems.append(w[:-1])
    if w.endswith("ed") and len(w) > 4:
        stems += [w[:-2], w[:-1], w[:-3] if len(w) > 5 and w[-3] == w[-4] else w[:-2]]
    if w.endswith("ing") and len(w) > 5:
        stems += [w[:-3], w[:-3] + "e", w[:-4] if w[-4] == w[-5] else w[:-3]]
    return any(s in TECHNICAL_WORDS for s in stems)
