"""Phrase banks of the AMD corpus: one for the train split, one for the held-out split.

No sentence is in both (``make.py`` refuses to run if one is, and a test checks it), so a
detector judged on the held-out split has never heard its texts. The train bank
starts from the shared dev generator's bank A, the held-out bank from the earlier
held-out script's bank H; both add material written for this corpus: long live
greetings of 3-5 s, voicemails that open with "Hi," and a pause, more carrier
announcements and callees who speak again after a silence.

Categories per language:
  human_short     1-3 word live answers ("Hello?"); also what a callee says again
  human_long      live greetings of 2.5-5 s ("Good afternoon, this is Carla ...")
  personal_open / business_open / middle / closer
                  pieces from which voicemail greetings are composed
  hi_opener / hi_rest
                  a voicemail that says "Hi," then pauses before the rest
  carrier_beep    network voicemail announcement followed by a beep
  carrier_nobeep  carrier announcement without beep ("not in service ...")
"""

from __future__ import annotations

Bank = dict[str, dict[str, list[str]]]

_TRAIN_BASE: Bank = {
    "en": {
        "human_short": [
            "Hello?",
            "Yes?",
            "Hi, John speaking.",
            "Hello.",
            "Yeah, hello?",
            "Hi there.",
            "Speaking.",
            "Who is this?",
        ],
        "human_long": [
            "Hello, this is Mary Smith, how can I help you?",
            "Good afternoon, Peter Wilson speaking, who's calling please?",
            "Hi, this is Dave from accounting, what can I do for you?",
        ],
        "personal_open": [
            "Hi, you've reached Tom and Lisa.",
            "Hello, this is Jennifer.",
            "Hey, it's Mike.",
            "You have reached the Johnson residence.",
            "Hi, this is Karen's phone.",
            "Hello, you've reached Brian Miller.",
        ],
        "business_open": [
            "Thank you for calling Acme Insurance.",
            "You have reached the offices of Baker and Associates.",
            "Thank you for calling Sunrise Dental Clinic.",
            "Welcome to Northside Auto Repair.",
            "You've reached the customer service line of Global Freight.",
        ],
        "middle": [
            "We can't come to the phone right now.",
            "I'm either on the other line or away from my desk.",
            "Our office hours are Monday through Friday, nine to five.",
            "If this is an emergency, please hang up and dial nine one one.",
            "Sorry I missed your call.",
            "I'm out of the office until Monday.",
            "For billing questions, please visit our website.",
            "Your call is important to us.",
        ],
        "closer": [
            "Please leave a message after the beep.",
            "Leave your name and number and I'll call you back.",
            "Leave a message.",
            "Please leave your name, number, and a brief message, and we will return your call as soon as possible.",
            "Talk to you soon, bye.",
            "At the tone, please record your message.",
        ],
        "carrier_beep": [
            "The person you are calling is not available. Please leave your message after the tone.",
            "The subscriber you have dialed is not available. Please record your message after the tone. When you have finished recording, you may hang up.",
        ],
        "carrier_nobeep": [
            "The person you are calling is not available. Please try again later.",
            "The number you have dialed is not in service. Please check the number and try again.",
            "The mobile phone you are calling is switched off or out of the coverage area.",
        ],
    },
    "pt": {
        "human_short": [
            "Alô?",
            "Sim?",
            "Pois não?",
            "Oi?",
            "Alô, quem fala?",
            "Alô, pois não.",
        ],
        "human_long": [
            "Alô, aqui é a Maria Souza, em que posso ajudar?",
            "Boa tarde, aqui é o Pedro, quem está falando?",
        ],
        "personal_open": [
            "Oi, aqui é o Carlos.",
            "Olá, você ligou para a Ana.",
            "Alô, aqui é da casa da família Silva.",
        ],
        "business_open": [
            "Obrigado por ligar para a Clínica Bem Estar.",
            "Você ligou para a Imobiliária Central.",
            "Bem-vindo à Auto Peças Paulista.",
        ],
        "middle": [
            "No momento não posso atender.",
            "Estou fora do escritório até segunda-feira.",
            "Nosso horário de atendimento é de segunda a sexta, das nove às dezoito horas.",
            "Desculpe, não pude atender sua ligação.",
            "Em caso de urgência, ligue para o celular.",
        ],
        "closer": [
            "Deixe seu recado após o sinal.",
            "Deixe seu nome e telefone que retorno assim que possível.",
            "Deixe sua mensagem.",
            "Grave seu recado após o bipe, obrigado.",
        ],
        "carrier_beep": [
            "O número que você ligou não está disponível. Deixe sua mensagem após o sinal.",
        ],
        "carrier_nobeep": [
            "O telefone chamado está desligado ou fora da área de cobertura.",
            "Este número de telefone não existe. Por favor, verifique o número e ligue novamente.",
        ],
    },
    "es": {
        "human_short": [
            "¿Diga?",
            "¿Bueno?",
            "¿Sí?",
            "Hola.",
            "¿Dígame?",
            "¿Aló, quién habla?",
        ],
        "human_long": [
            "Hola, habla Carlos Pérez, ¿en qué le puedo ayudar?",
            "Buenas tardes, soy Ana García, ¿quién llama?",
        ],
        "personal_open": [
            "Hola, soy Marta.",
            "Has llamado a Javier y Lucía.",
            "Hola, este es el teléfono de Pablo.",
        ],
        "business_open": [
            "Gracias por llamar a Seguros La Estrella.",
            "Ha llamado a la Clínica Dental Sonrisa.",
            "Bienvenido a Transportes del Norte.",
        ],
        "middle": [
            "En este momento no podemos atenderle.",
            "Estoy fuera de la oficina hasta el lunes.",
            "Nuestro horario de atención es de lunes a viernes, de nueve a seis.",
            "Lo siento, no puedo contestar ahora.",
            "Si es urgente, llame a mi móvil.",
        ],
        "closer": [
            "Deje su mensaje después de la señal.",
            "Deja tu nombre y número y te llamo luego.",
            "Deje su mensaje.",
            "Por favor, deje su nombre, número y un breve mensaje después del tono.",
        ],
        "carrier_beep": [
            "El abonado al que llama no está disponible. Deje su mensaje después de la señal.",
        ],
        "carrier_nobeep": [
            "El teléfono móvil al que llama está apagado o fuera de cobertura.",
            "El número marcado no existe. Por favor, compruebe el número.",
        ],
    },
}


_HELDOUT_BASE: Bank = {
    "en": {
        "human_short": [
            "Hello, who's calling?",
            "Hey.",
            "Good morning.",
            "Yep, go ahead.",
            "This is Sam.",
            "Hello, yes?",
            "Uh, hello?",
            "Morning, Rachel here.",
        ],
        "human_long": [
            "Good morning, Oakridge Plumbing, Susan speaking.",
            "Hello, Tony Martinez here, who am I talking to?",
            "Hi, front desk, Linda speaking, can I help you?",
            "Yes hello, Robert Chen, who's calling please?",
        ],
        "personal_open": [
            "Hey there, it's Chris.",
            "Hi, this is the Garcia family.",
            "You've got Melissa's voicemail.",
            "Hello, Daniel and Priya here.",
            "Hi, it's Grandpa Joe.",
        ],
        "business_open": [
            "Thanks for calling Riverside Veterinary Hospital.",
            "You've reached Harbor View Realty.",
            "Hello, and thank you for calling the Westfield Library.",
            "You have reached Summit Heating and Cooling.",
        ],
        "middle": [
            "Nobody can take your call at the moment.",
            "We're closed for the holidays and will reopen on the third.",
            "I'm probably out walking the dog.",
            "For appointments, press nothing and just wait.",
            "Our team is helping other customers right now.",
            "I check my messages every evening.",
            "Please speak slowly and spell your last name.",
        ],
        "closer": [
            "Leave a message and I'll get back to you.",
            "Record your message when you hear the tone.",
            "Thanks, and have a great day.",
            "Please leave a detailed message including your account number and the best time to reach you.",
            "Cheers.",
        ],
        "carrier_beep": [
            "Your call has been forwarded to an automatic voice message system. The party you are trying to reach is not available. At the tone, please record your message.",
            "The wireless customer you are calling is not available. Please leave a message after the tone.",
        ],
        "carrier_nobeep": [
            "We're sorry, the number you have reached is not in service.",
            "All circuits are busy now. Please try your call again later.",
            "The customer you are calling cannot be reached at this time.",
        ],
    },
    "pt": {
        "human_short": ["Alô, quem é?", "Oi, pode falar.", "Fala.", "Bom dia.", "Pronto?"],
        "human_long": [
            "Bom dia, aqui é a Juliana, posso ajudar?",
            "Alô, Ricardo falando, com quem eu falo?",
        ],
        "personal_open": ["Oi, você ligou para o Marcos.", "Olá, aqui é a Beatriz."],
        "business_open": [
            "Você ligou para a Padaria Pão Dourado.",
            "Obrigada por ligar para o Escritório Lima e Costa.",
        ],
        "middle": [
            "Não posso atender agora.",
            "Estamos em horário de almoço.",
            "Retornamos todas as ligações no mesmo dia.",
            "Estou viajando esta semana.",
        ],
        "closer": [
            "Deixe uma mensagem depois do bipe.",
            "Fale após o sinal, obrigado.",
            "Até logo.",
        ],
        "carrier_beep": ["A pessoa chamada não pode atender. Grave sua mensagem após o sinal."],
        "carrier_nobeep": [
            "O número chamado não recebe ligações no momento.",
            "Esta ligação não pode ser completada. Tente mais tarde.",
        ],
    },
    "es": {
        "human_short": ["¿Sí, dígame?", "¿Quién es?", "Buenos días.", "¿Hola, sí?", "Adelante."],
        "human_long": [
            "Buenos días, le atiende Carmen, ¿dígame?",
            "Hola, soy Miguel Torres, ¿quién llama?",
        ],
        "personal_open": ["Hola, has llamado a Elena.", "Hola, soy Andrés."],
        "business_open": [
            "Gracias por llamar a Inmobiliaria del Sol.",
            "Ha llamado al Taller Mecánico Ruiz.",
        ],
        "middle": [
            "Ahora mismo no estoy disponible.",
            "Nuestro horario es de ocho a tres.",
            "Estamos de vacaciones hasta septiembre.",
            "Devolvemos todas las llamadas.",
        ],
        "closer": ["Deja tu mensaje después del tono.", "Gracias, hasta pronto.", "Hable ahora."],
        "carrier_beep": [
            "La persona a la que llama no puede atenderle. Grabe su mensaje después de la señal."
        ],
        "carrier_nobeep": [
            "El número al que llama no está operativo.",
            "Todas las líneas están ocupadas. Inténtelo más tarde.",
        ],
    },
}


# Written for this corpus (2026-12-07).
_TRAIN_NEW: Bank = {
    "en": {
        "human_short": ["Hello, Kevin.", "Yes, hello?", "Hi, who's this?", "Go ahead."],
        "human_long": [
            "Good afternoon, this is Carla from accounts, how can I help you?",
            "Hello, you're speaking with Martin in the service department, what can I do for you today?",
            "Hi there, this is Angela at the front office, who am I speaking with please?",
            "Morning, Greenfield Surgery, this is Paula, how can I help?",
            "Yes, hello, this is Frank Collins, sorry, who did you want to speak to?",
        ],
        "hi_opener": ["Hi,", "Hello,"],
        "hi_rest": [
            "you've reached Maria, leave a message.",
            "it's Steve, I can't pick up, so leave your number.",
            "this is Nancy's phone, please leave a message and I'll call you back.",
        ],
        "personal_open": ["Hey, you've got Jamie.", "Hello, this is the Patel household."],
        "business_open": [
            "Thank you for calling Lakeside Pharmacy.",
            "You've reached the billing department of Crestline Energy.",
        ],
        "middle": [
            "All of our advisors are busy at the moment.",
            "I'm on holiday until the fifteenth.",
            "Our offices are closed for the weekend.",
        ],
        "closer": ["Speak after the beep.", "Leave a short message and your phone number."],
        "carrier_beep": [
            "Sorry, the person you called is unavailable. Record your message after the tone.",
        ],
        "carrier_nobeep": [
            "This number is no longer in service.",
            "Your call cannot be completed as dialed. Please check the number and dial again.",
        ],
    },
    "pt": {
        "human_short": ["Alô, bom dia?", "Quem é?", "Oi, tudo bem?"],
        "human_long": [
            "Boa tarde, aqui é a Carla do financeiro, em que posso ajudar?",
            "Alô, bom dia, aqui é o Roberto da manutenção, quem gostaria de falar?",
            "Oi, aqui é a Fernanda da recepção, com quem eu falo, por favor?",
        ],
        "hi_opener": ["Oi,", "Alô,"],
        "hi_rest": [
            "aqui é a Paula, deixe seu recado.",
            "você ligou para o Thiago, não posso atender agora, deixe uma mensagem.",
        ],
        "personal_open": ["Olá, aqui é o Gustavo.", "Oi, este é o celular da Renata."],
        "business_open": ["Obrigado por ligar para a Farmácia Popular do Centro."],
        "middle": [
            "Todos os nossos atendentes estão ocupados.",
            "Estou de férias até o dia vinte.",
        ],
        "closer": ["Fale após o bipe.", "Deixe seu recado e seu telefone."],
        "carrier_beep": [
            "Sua chamada está sendo encaminhada para a caixa de mensagens. Grave após o sinal."
        ],
        "carrier_nobeep": [
            "Este número não está em serviço.",
            "Não foi possível completar a sua ligação.",
        ],
    },
    "es": {
        "human_short": ["¿Sí, quién es?", "Hola, dígame.", "¿Hola?"],
        "human_long": [
            "Buenas tardes, le habla Carla de contabilidad, ¿en qué puedo ayudarle?",
            "Hola, buenos días, soy Raúl del servicio técnico, ¿con quién hablo?",
            "Sí, dígame, soy Patricia de recepción, ¿quién le llama, por favor?",
        ],
        "hi_opener": ["Hola,", "Buenas,"],
        "hi_rest": [
            "soy Lorena, deja tu mensaje.",
            "has llamado a Sergio, ahora no puedo contestar, deja tu recado.",
        ],
        "personal_open": ["Hola, soy Diego.", "Este es el contestador de Carmen y Luis."],
        "business_open": ["Gracias por llamar a Farmacia Central."],
        "middle": [
            "Todos nuestros agentes están ocupados.",
            "Estoy de vacaciones hasta el día veinte.",
        ],
        "closer": ["Hable después del pitido.", "Deje su nombre y su teléfono."],
        "carrier_beep": [
            "Su llamada se está desviando al buzón de voz. Grabe su mensaje después de la señal."
        ],
        "carrier_nobeep": [
            "Este número no está en servicio.",
            "No ha sido posible establecer la llamada.",
        ],
    },
}

_HELDOUT_NEW: Bank = {
    "en": {
        "human_short": ["Hello there?", "Yeah?", "Hi, it's Ben."],
        "human_long": [
            "Good evening, this is Sandra from the claims team, how may I help you?",
            "Hello, Westbrook Motors, you're through to Gary in parts, what are you after?",
            "Hi, this is Olivia from customer care, could I ask who's calling?",
            "Afternoon, Dr Hughes's office, this is Emma speaking, how can I help you today?",
        ],
        "hi_opener": ["Hey,", "Hi there,"],
        "hi_rest": [
            "you've got Laura, leave me a message.",
            "it's Marcus, I'm not around, leave your name and number.",
        ],
        "personal_open": ["Hey, it's Tina.", "Hi, you've reached the Nguyen family."],
        "business_open": ["Thank you for calling Bluebird Travel."],
        "middle": ["We are currently experiencing high call volumes.", "I'm away from my phone."],
        "closer": ["Please start speaking after the tone.", "Bye for now."],
        "carrier_beep": [
            "The mailbox of the number you dialed is available. Please record your message after the tone."
        ],
        "carrier_nobeep": [
            "The number you have called has been disconnected.",
            "Sorry, we are unable to connect your call at this time.",
        ],
    },
    "pt": {
        "human_short": ["Oi, quem fala?", "Alô, sim?", "Diga."],
        "human_long": [
            "Boa noite, aqui é a Sandra do atendimento, como posso ajudar?",
            "Alô, oficina do Zé, aqui é o Márcio, o que o senhor precisa?",
        ],
        "hi_opener": ["Olá,", "E aí,"],
        "hi_rest": [
            "aqui é o Bruno, deixe sua mensagem.",
            "você ligou para a Luana, fale depois do sinal.",
        ],
        "personal_open": ["Oi, é a Camila."],
        "business_open": ["Você ligou para a Livraria Estação."],
        "middle": ["Estamos com um grande volume de ligações."],
        "closer": ["Tchau."],
        "carrier_beep": ["O assinante não pode atender. Após o sinal, grave o seu recado."],
        "carrier_nobeep": ["O número discado foi desativado."],
    },
    "es": {
        "human_short": ["¿Sí?, diga.", "¿Aló?", "Hola, buenas."],
        "human_long": [
            "Buenas noches, le atiende Sandra del departamento de reclamaciones, ¿en qué le ayudo?",
            "Hola, Talleres Ortega, habla Jorge, ¿qué necesita?",
        ],
        "hi_opener": ["Hola, hola,", "Qué tal,"],
        "hi_rest": [
            "soy Nuria, déjame un mensaje.",
            "has llamado a Óscar, habla después del tono.",
        ],
        "personal_open": ["Hola, es el teléfono de Irene."],
        "business_open": ["Ha llamado a Viajes Mediterráneo."],
        "middle": ["Estamos atendiendo a otros clientes."],
        "closer": ["Hasta luego."],
        "carrier_beep": ["El usuario no está disponible. Deje su mensaje tras la señal."],
        "carrier_nobeep": ["El número al que llama ha sido dado de baja."],
    },
}


def _merge(*banks: Bank) -> Bank:
    out: Bank = {}
    for bank in banks:
        for lang, categories in bank.items():
            for category, phrases in categories.items():
                out.setdefault(lang, {}).setdefault(category, []).extend(phrases)
    return out


BANKS: dict[str, Bank] = {
    "train": _merge(_TRAIN_BASE, _TRAIN_NEW),
    "heldout": _merge(_HELDOUT_BASE, _HELDOUT_NEW),
}


def phrases(bank: Bank) -> set[str]:
    """Every sentence of a bank, normalised for comparison."""
    return {p.strip().lower() for cats in bank.values() for lst in cats.values() for p in lst}


def shared_phrases() -> set[str]:
    """Sentences in both banks (must be none)."""
    return phrases(BANKS["train"]) & phrases(BANKS["heldout"])
